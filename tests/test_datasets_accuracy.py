"""The project's accuracy bars on real data: digits >= 0.96, breast cancer >= 0.94.

Needs scikit-learn's bundled datasets (in the ``[test]`` extra); skipped without it.
"""
import numpy as np
import pytest

from fastdnn import load_model
from fastdnn._datasets import load, train_test_split
from fastdnn.layers import Dense, Input, Normalizer
from fastdnn.models import Sequential
from fastdnn.optimizers import Adam

pytest.importorskip("sklearn")
pytestmark = pytest.mark.usefixtures("one_blas_thread")


def train(name, hidden, seed=0, epochs=100):
    X, y, _ = load(name)
    Xtr, Xte, ytr, yte = train_test_split(X, y, 0.25, seed)
    norm = Normalizer()
    norm.adapt(Xtr)
    binary = name == "breast_cancer"
    layers = [Input(X.shape[1]), norm] + [Dense(n, activation="relu") for n in hidden]
    layers.append(Dense(1, activation="sigmoid") if binary else Dense(10, activation="softmax"))
    model = Sequential(layers, seed=seed)
    model.compile(Adam(1e-3), "binary_crossentropy" if binary else "categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(Xtr, ytr, epochs=epochs, batch_size=32, seed=seed, verbose=0)
    return model, history, Xte, yte


def test_digits_reaches_96_percent(tmp_path):
    model, history, Xte, yte = train("digits", [128])
    accuracy = np.mean(model.predict_classes(Xte) == yte)
    assert accuracy >= 0.96, accuracy
    assert history.history["loss"][-1] < history.history["loss"][0] / 10
    assert model.evaluate(Xte, yte)[1] == pytest.approx(accuracy)
    model.save(tmp_path / "digits.npz")
    again = load_model(tmp_path / "digits.npz")
    np.testing.assert_array_equal(again.predict(Xte), model.predict(Xte))


def test_breast_cancer_reaches_94_percent():
    model, history, Xte, yte = train("breast_cancer", [16, 8])
    accuracy = np.mean(model.predict_classes(Xte) == yte)
    assert accuracy >= 0.94, accuracy
    assert model.predict_proba(Xte).shape == (len(yte), 2)
