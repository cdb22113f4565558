"""Fit of the SiLU derivative around its zero z0 = -1.27846...: d(z) = (z - z0) q(u),
u = z + C, q a polynomial (least squares on Chebyshev nodes of the window against mpmath
at 40 digits, then the coefficients rounded to float32 and the fit's relative error
measured on a fine grid). Prints z0 as a float32 pair and the coefficients, highest first,
for fdnn_d_silu_near_zero_f32 (csrc/fdnn_math.h).

    python scripts/fit_silu_zero.py [lo hi degree]
"""
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 40
LO, HI, DEG = (-2.5, -0.64, 9) if len(sys.argv) < 4 else (
    float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))
C = -(LO + HI) / 2
H = (HI - LO) / 2


def d_silu(z):
    s = 1 / (1 + mp.exp(-z))
    return s * (1 + z * (1 - s))


z0 = mp.findroot(d_silu, -1.278)


def q(z):
    z = mp.mpf(z)
    if abs(z - z0) < mp.mpf(10) ** -20:
        return mp.diff(d_silu, z0)
    return d_silu(z) / (z - z0)


n = 400
nodes = [C * -1 + H * mp.cos(mp.pi * (k + 0.5) / n) for k in range(n)]
us = [zz + C for zz in nodes]
vals = [q(zz) for zz in nodes]
# least squares in mpmath on the relative error (weights 1 / q)
A = mp.matrix(n, DEG + 1)
b = mp.matrix(n, 1)
for i, (u, v) in enumerate(zip(us, vals)):
    for j in range(DEG + 1):
        A[i, j] = u ** j / v
    b[i] = 1
coef = mp.lu_solve(A.T * A, A.T * b)
cf = [np.float32(float(coef[j])) for j in range(DEG + 1)]

z0h = np.float32(float(z0))
z0l = np.float32(float(z0 - mp.mpf(float(z0h))))
worst = 0
for zz in np.linspace(LO, HI, 20001):
    u = mp.mpf(float(zz)) + C
    p = sum(mp.mpf(float(c)) * u ** j for j, c in enumerate(cf))
    worst = max(worst, abs(p / q(zz) - 1))
print(f"window [{LO}, {HI}], u = z + {C}, degree {DEG}")
print(f"z0 = {mp.nstr(z0, 20)} = {z0h!r} + {z0l!r}")
print(f"max relative error of the float32 coefficients' polynomial: {mp.nstr(worst, 3)}"
      f" ({float(worst) / 2.0 ** -24:.3f} units of 2^-24)")
for c in reversed(cf):
    print(f"    {float(c)!r}f,")
