"""README's Keras port runs as written (fewer epochs, generated data), in the compiled loop."""
import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
if not README.is_file():   # tests copied without the repository's README
    pytest.skip(f"README.md is not next to the tests ({README})", allow_module_level=True)


def test_the_keras_port_in_the_readme_runs():
    text = README.read_text(encoding="utf-8")
    code = re.search(r"<!-- keras-port -->\n```python\n(.*?)```", text, re.S).group(1)
    assert "from fastdnn" in code and "epochs=20" in code
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3200, 784)).astype(np.float32)
    x[:, 10:] *= 0.05                      # the other 774 inputs: weak noise
    y = np.argmax(x[:, :10], axis=1)       # the class is the largest of the first 10 inputs
    scope = {"x_train": x[:3000], "y_train": y[:3000], "x_test": x[3000:], "y_test": y[3000:]}
    exec(compile(code.replace("epochs=20", "epochs=4"), "README.md", "exec"), scope)
    model = scope["model"]
    assert model.history.engine == "compiled"
    assert len(model.history.history["val_loss"]) == 4
    loss, accuracy = model.evaluate(x[3000:], y[3000:])
    assert accuracy > 0.3   # 10 classes: chance is 0.1
