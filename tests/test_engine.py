"""fit(engine=...): the compiled path is a declared contract, never a silent fallback."""
import numpy as np
import pytest

from fastdnn import Sequential, _compiled, activations, losses, metrics, optimizers
from fastdnn.callbacks import Callback
from fastdnn.layers import Dense, Dropout, Input, Normalizer
from fastdnn.losses import BinaryCrossentropy
from fastdnn.optimizers import Adam


def data(m=60, n=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.float64)


def model(*hidden, optimizer="adam", loss="binary_crossentropy", metrics_=("accuracy",)):
    m = Sequential([Input(4), Dense(5, activation="tanh"), *hidden,
                    Dense(1, activation="sigmoid")], dtype="float64", seed=0)
    m.compile(optimizer, loss, list(metrics_))
    return m


class EveryBatch(Callback):
    def on_train_batch_end(self, batch, logs=None):
        pass


class AdamSubclass(Adam):
    """Same maths, other name: keeps the compiled kernel."""


class AdamOwnUpdate(Adam):
    def _update(self, params, grads, slots, decays, lr):
        super()._update(params, grads, slots, decays, lr)


class BceOwnGradient(BinaryCrossentropy):
    def gradient(self, A, Y):
        return super().gradient(A, Y)


def test_auto_reports_the_compiled_engine_and_verbose_prints_it(capsys):
    X, y = data()
    h = model().fit(X, y, epochs=1, verbose=2)
    assert h.engine == "compiled" and h.params["engine"] == "compiled"
    assert "Engine: compiled" in capsys.readouterr().out


def test_auto_falls_back_with_the_reason(capsys):
    X, y = data()
    h = model(Dropout(0.2)).fit(X, y, epochs=1, verbose=2)
    assert h.engine == "python"
    out = capsys.readouterr().out
    assert "Engine: python" in out and "Dropout" in out


@pytest.mark.parametrize("build, reason", [
    (lambda: model(Dropout(0.2)), "Dropout"),
    (lambda: model(optimizer=AdamOwnUpdate()), "AdamOwnUpdate overrides Adam._update"),
    (lambda: model(loss=BceOwnGradient()), "BceOwnGradient overrides BinaryCrossentropy.gradient"),
    (lambda: model(metrics_=(metrics.MeanAbsoluteError(),)), None),
])
def test_compiled_raises_with_every_reason(build, reason):
    X, y = data()
    m = build()
    if reason is None:      # a model the compiled loop can train
        assert m.fit(X, y, epochs=1, verbose=0, engine="compiled").engine == "compiled"
        return
    with pytest.raises(ValueError, match=f"engine='compiled' cannot train.*{reason}"):
        m.fit(X, y, epochs=1, verbose=0, engine="compiled")


def test_compiled_names_per_batch_callbacks():
    X, y = data()
    with pytest.raises(ValueError, match="EveryBatch"):
        model().fit(X, y, epochs=1, verbose=0, engine="compiled", callbacks=[EveryBatch()])


def test_compiled_names_all_reasons_at_once():
    X, y = data()
    m = model(Dropout(0.2), optimizer=AdamOwnUpdate(), loss=BceOwnGradient())
    with pytest.raises(ValueError) as err:
        m.fit(X, y, epochs=1, verbose=0, engine="compiled")
    for part in ("Dropout", "AdamOwnUpdate", "BceOwnGradient"):
        assert part in str(err.value)


def test_subclasses_keep_the_compiled_path_unless_they_override_the_maths():
    X, y = data()
    assert model(optimizer=AdamSubclass()).fit(X, y, verbose=0).engine == "compiled"
    assert model(optimizer=AdamOwnUpdate()).fit(X, y, verbose=0).engine == "python"
    assert model(loss=BceOwnGradient()).fit(X, y, verbose=0).engine == "python"


def test_python_and_compiled_engines_agree():
    X, y = data()
    runs = []
    for engine in ("python", "compiled"):
        m = model()
        h = m.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=1, engine=engine)
        assert h.engine == engine
        runs.append((m.get_weights(), h.history["loss"], h.history["accuracy"]))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-10)
    np.testing.assert_allclose(runs[0][2], runs[1][2])


def test_compile_compiled_false_is_the_python_engine_for_auto_only():
    X, y = data()
    m = model()
    m.compile("adam", "binary_crossentropy", compiled=False)
    assert m.fit(X, y, verbose=0).engine == "python"
    assert m.fit(X, y, verbose=0, engine="compiled").engine == "compiled"


@pytest.mark.parametrize("engine, error", [("fast", ValueError), (1, ValueError), (None, ValueError)])
def test_bad_engine(engine, error):
    X, y = data()
    with pytest.raises(error, match="engine must be one of 'auto', 'compiled', 'python'"):
        model().fit(X, y, verbose=0, engine=engine)


def test_normalizer_then_dense_is_compiled():
    X, y = data()
    norm = Normalizer()
    norm.adapt(X)
    m = Sequential([Input(4), norm, Dense(3, activation="relu"), Dense(1, activation="sigmoid")],
                   dtype="float64", seed=0)
    m.compile("momentum", "binary_crossentropy")
    assert m.fit(X, y, verbose=0, engine="compiled").engine == "compiled"


class DoubledReLU(activations.ReLU):
    """Maths of its own: the dense kernels cannot run it, its methods do."""

    def forward(self, z, out=None):
        return 2 * np.maximum(z, 0)

    def backward(self, dA, a, out=None):
        return 2 * dA * (a > 0)


def test_an_activation_with_its_own_maths_trains_on_the_python_path():
    X, y = data()
    m = Sequential([Input(4), Dense(5, activation=DoubledReLU()), Dense(1, activation="sigmoid")],
                   dtype="float64", seed=0)
    m.compile("sgd", "binary_crossentropy")
    m.build()
    W1, b1, W2, b2 = [w.copy() for w in m.get_weights()]
    A1 = 2 * np.maximum(W1 @ X.T + b1, 0)
    want = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
    np.testing.assert_allclose(m.predict(X).T, want, rtol=1e-12)
    with pytest.raises(ValueError, match="DoubledReLU overrides ReLU.forward"):
        m.fit(X, y, epochs=1, verbose=0, engine="compiled")
    h = m.fit(X, y, epochs=1, batch_size=len(X), shuffle=False, verbose=0, engine="auto")
    assert h.engine == "python"
    # one step of gradient descent by hand, through the doubled ReLU
    G2 = (want - y[None, :]) / len(X)
    dA1 = W2.T @ G2
    dZ1 = 2 * dA1 * (A1 > 0)
    np.testing.assert_allclose(m.layers[1].W, W1 - 0.01 * dZ1 @ X, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(m.layers[2].W, W2 - 0.01 * G2 @ A1.T, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("axis, engine", [(0, "compiled"), (-2, "compiled"), (None, "python")])
def test_softmax_axes(axis, engine):
    X, y = data()
    m = Sequential([Input(4), Dense(3, activation=activations.Softmax(axis=axis))],
                   dtype="float64", seed=0)
    m.compile("sgd", "categorical_crossentropy")
    assert m.fit(X, (X[:, 0] > 0).astype(int), verbose=0).engine == engine
    P = m.predict(X)
    np.testing.assert_allclose(P.sum() if axis is None else P.sum(axis=1), 1.0, rtol=1e-12)


def test_optimizer_overriding_its_rate_leaves_the_compiled_path():
    class WarmUp(optimizers.GD):
        @property
        def learning_rate(self):
            return 0.5 * min(1.0, (self.iterations + 1) / 10)

    X, y = data()
    runs = []
    for engine in ("auto", "python"):
        m = model(optimizer=WarmUp(), metrics_=())
        h = m.fit(X, y, epochs=1, batch_size=4, verbose=0, seed=0, engine=engine)
        assert h.engine == "python"
        runs.append(m.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------ one numbering, read from the C lists

def test_the_numbering_comes_from_the_c_lists():
    for kind in _compiled.KINDS:
        names = list(_compiled.CODES[kind])
        assert names and list(_compiled.CODES[kind].values()) == list(range(len(names)))
    assert set(_compiled.CODES["activation"]) <= set(_compiled.CODES["unary"])


def test_every_builtin_optimizer_loss_and_activation_declares_a_listed_kernel():
    opt_codes = {optimizers.get(name).compiled_spec().code for name in _compiled.CODES["optimizer"]}
    assert opt_codes == set(_compiled.CODES["optimizer"].values())
    loss_codes = {losses.get(name).compiled_spec().code for name in _compiled.CODES["loss"]}
    assert loss_codes == set(_compiled.CODES["loss"].values())
    for name in _compiled.CODES["activation"]:
        spec = activations.get(name).compiled_spec()
        assert spec.forward == _compiled.CODES["unary"][name]
        assert spec.backward == _compiled.CODES["binary"]["bw_" + name]
    kinds = {metrics.get(n).compiled_spec(3).code for n in metrics.names()}
    assert kinds == set(_compiled.CODES["metric"].values())


def test_objects_without_kernels_say_so():
    class Plain(optimizers.Optimizer):
        def _update(self, *args):
            pass
    with pytest.raises(_compiled.NotCompilable, match="Plain has no compiled kernel"):
        Plain().compiled_spec()
    with pytest.raises(_compiled.NotCompilable, match="axis"):
        activations.Softmax(axis=1).compiled_spec()
