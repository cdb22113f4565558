"""Coefficients of the float32 GELU cores in csrc/fdnn_math.h (fdnn_gauss_ytailx_f32,
fdnn_d_gelu_tailx_f32, fdnn_d_gelu_tanh_near_zero_f32), fitted against mpmath.

Each is a polynomial fitted in relative error: weighted least squares on Chebyshev nodes,
then Lawson iterations towards the minimax fit, then the coefficients rounded to float32
from the highest degree down, each remaining one refitted after every rounding. Prints
the C coefficients (highest degree first, for Horner's scheme) and the fits' errors.

    python scripts/fit_gelu_f32.py
"""
import mpmath
import numpy as np

mpmath.mp.dps = 50
SQRT_2PI = mpmath.sqrt(2 * mpmath.pi)
YMAX = 14.75  # beyond, the float32 results of the negative tail round to 0


def tailx(y):
    """Phi(-y) exp(y^2 / 2)"""
    return mpmath.erfc(y / mpmath.sqrt(2)) * mpmath.exp(y * y / 2) / 2


# the zero of GELU's derivative Phi(z) + z phi(z), at z = -Y0
Y0 = mpmath.findroot(lambda y: tailx(y) - y / SQRT_2PI, 0.75)


def d_tailx(y):
    """(Phi(-y) exp(y^2/2) - y / sqrt(2 pi)) / (Y0 - y): Phi(z) + z phi(z) = that times
    (Y0 - y) exp(-y^2/2) at z = -y"""
    if abs(y - Y0) < mpmath.mpf(10) ** -20:
        return -mpmath.diff(lambda v: tailx(v) - v / SQRT_2PI, Y0)
    return (tailx(y) - y / SQRT_2PI) / (Y0 - y)


A = mpmath.sqrt(8 / mpmath.pi)
B = A * mpmath.mpf("0.044715")


def d_gelu_tanh(z):
    s = A * z + B * z ** 3
    sig = 1 / (1 + mpmath.exp(-s))
    return sig + z * sig * (1 - sig) * (A + 3 * B * z * z)


Z0T = mpmath.findroot(d_gelu_tanh, -0.75)


def fit(f, x_of_t, t_lo, t_hi, deg, n=600, lawson=60):
    """p(t) ~ f(x_of_t(t)) in relative error on [t_lo, t_hi]; float32 coefficients
    (ascending) and the largest relative error at 4n points in float64 evaluation."""
    k = np.arange(n)
    ts = (t_lo + t_hi) / 2 + (t_hi - t_lo) / 2 * np.cos(np.pi * (k + 0.5) / n)
    fs = np.array([float(f(x_of_t(mpmath.mpf(t)))) for t in ts])
    V = np.vander(ts, deg + 1, increasing=True) / fs[:, None]
    w = np.ones(n)
    fixed = {}
    for top in range(deg, -2, -1):
        free = [j for j in range(deg + 1) if j not in fixed]
        rhs = np.ones(n) - sum(V[:, j] * c for j, c in fixed.items()) if fixed else np.ones(n)
        for _ in range(lawson if top == deg else 20):
            sw = np.sqrt(w)
            c, *_ = np.linalg.lstsq(V[:, free] * sw[:, None], rhs * sw, rcond=None)
            err = np.abs(V[:, free] @ c - rhs)
            w = w * err
            w /= w.sum()
        if top == 0:
            c0 = float(c[0])  # kept as a float-float: c0 + c0_lo
            fixed[0] = (float(np.float32(c0)), float(np.float32(c0 - float(np.float32(c0)))))
            break
        idx = free.index(top)
        fixed[top] = float(np.float32(c[idx]))
    coef = [fixed[j] for j in range(deg + 1)]
    tt = np.linspace(t_lo, t_hi, 4 * n)
    ft = np.array([float(f(x_of_t(mpmath.mpf(t)))) for t in tt])
    got = np.polyval([*coef[:0:-1], sum(coef[0])], tt)
    return coef, float(np.max(np.abs(got / ft - 1)))


def show(name, coef, err):
    f32 = lambda c: f"{float(np.float32(c))!r}f"
    print(f"{name}: max relative error {err:.3g} ({err / 2.0 ** -24:.3f} x 2^-24)")
    print("    c0 = " + f32(coef[0][0]) + " + " + f32(coef[0][1]))
    print("    c%d..c1 = " % (len(coef) - 1) + ", ".join(f32(c) for c in coef[:0:-1]))


def root(name, v):
    h = float(np.float32(float(v)))
    print(f"{name} = {mpmath.nstr(v, 20)} = {h!r}f + {float(np.float32(float(v - h)))!r}f")


C, DEG_D = 2.0, 10  # t = (y - C) / (y + C) maps [0, YMAX] into [-1, 0.761]
# GELU's tail y Phi(-y) exp(y^2/2) for y in [Y_LO, YMAX], in t = (y - C_R) / (y + C_R): no
# division by a factor (y + C) left to the kernel, which saved it three roundings
Y_LO, C_R, DEG_R = 0.75, 3.0, 10
W_LO, W_HI, DEG_T = 0.4, 0.6, 9  # the tanh-GELU derivative's window (z0 - W_LO, z0 + W_HI)

if __name__ == "__main__":
    t_hi = (YMAX - C) / (YMAX + C)
    y_of_t = lambda t: C * (1 + t) / (1 - t)
    coef, err = fit(lambda y: tailx(y) * y, lambda t: C_R * (1 + t) / (1 - t),
                    (Y_LO - C_R) / (Y_LO + C_R) - 0.002, (YMAX - C_R) / (YMAX + C_R), DEG_R)
    show(f"y Phi(-y) exp(y^2/2) in t = (y - {C_R}) / (y + {C_R}), y in [{Y_LO}, {YMAX}]", coef, err)
    coef, err = fit(d_tailx, y_of_t, -1.0, t_hi, DEG_D)
    show(f"(Phi(-y) exp(y^2/2) - y / sqrt(2 pi)) / (y0 - y) in the same t", coef, err)
    root("y0", Y0)

    def d_over(z):
        if abs(z - Z0T) < mpmath.mpf(10) ** -20:
            return mpmath.diff(d_gelu_tanh, Z0T)
        return d_gelu_tanh(z) / (z - Z0T)
    u0 = float(Z0T) + 0.75
    coef, err = fit(d_over, lambda u: u - mpmath.mpf(0.75), u0 - W_LO, u0 + W_HI, DEG_T)
    show(f"tanh-GELU's derivative / (z - z0) in u = z + 0.75, z - z0 in (-{W_LO}, {W_HI})", coef, err)
    root("z0", Z0T)
    # (Phi(z) - 1/2) / z for |z| < 0.75: the Taylor terms of erf to w^6, w = z^2 (the next
    # one is below 1e-9 there)
    terms = [(-1) ** k / (SQRT_2PI * 2 ** k * mpmath.factorial(k) * (2 * k + 1)) for k in range(7)]
    print("series w^6..w^0 = " + ", ".join(f"{float(np.float32(float(c)))!r}f" for c in terms[::-1]))
