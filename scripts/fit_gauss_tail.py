"""Coefficients of the float64 Gaussian tail in ``csrc/fdnn_math.h`` (``fdnn_gauss_tailx_f64``).

erfcx(y / sqrt2) = erfc(y / sqrt2) exp(y^2 / 2) for y in [0.6, 40], written as
P(t) / (y + A) with t = ((y - 4) / (y + 4) - Zm) / Zh mapping [0.6, 40] onto [-1, 1]
and P a Chebyshev fit of degree 21 in 50-digit arithmetic (mpmath). The factor y + A
with A = 3/4 keeps P within [0.81, 0.93]: its Horner sum, whose terms alternate in sign
near t = 1, then loses no more than a third to cancellation.

Run ``python scripts/fit_gauss_tail.py`` to print the C lines (highest degree first).
"""
import mpmath as mp

mp.mp.dps = 50
A = mp.mpf(3) / 4
DEGREE = 21
Y_LO, Y_HI = mp.mpf("0.6"), mp.mpf(40)


def z_of(y):
    return (y - 4) / (y + 4)


ZM = (z_of(Y_LO) + z_of(Y_HI)) / 2        # t = (Z - ZM) / ZH in [-1, 1]
ZH = (z_of(Y_HI) - z_of(Y_LO)) / 2


def y_of(t):
    z = t * ZH + ZM
    return 4 * (1 + z) / (1 - z)


def scaled_tail(t):
    y = y_of(t)
    return mp.erfc(y / mp.sqrt(2)) * mp.exp(y * y / 2) * (y + A)


def main() -> None:
    poly, err = mp.chebyfit(scaled_tail, [-1, 1], DEGREE + 1, error=True)
    print(f"/* Zm = {mp.nstr(ZM, 20)}, 1 / Zh = {mp.nstr(1 / ZH, 20)}, "
          f"max abs error {mp.nstr(err, 3)} */")
    print(f"double p = {mp.nstr(poly[0], 17)};")
    for c in poly[1:]:
        print(f"p = p * t + {mp.nstr(c, 17)};")


if __name__ == "__main__":
    main()
