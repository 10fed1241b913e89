//! The C `long double` that `INCRBYFLOAT` computes with, in software.
//!
//! Redis parses the stored value and the increment with `strtold`, adds them
//! as `long double`s, and prints the sum with `"%.17Lf"`, trimming trailing
//! zeros. On x86-64 Linux a `long double` is the x87 80-bit extended format:
//! a 64-bit significand and a 15-bit exponent. That extra precision is
//! visible to clients. `10.5 + 0.1` is `10.6` in Redis, while with `f64`
//! the same sum prints as `10.59999999999999964`. Rust has no 80-bit float,
//! so this module models one:
//!
//! - a finite value is `mant × 2^exp` with a 64-bit `mant`;
//! - every operation computes the exact result (with [`BigUint`]) and then
//!   rounds once, to nearest with ties to even, as the x87 unit and glibc's
//!   `strtold`/`printf` do. That gives bit-identical results and text.
//!
//! Only what Redis needs is here: parsing (`string2ld`), addition, and the
//! human-friendly output of `ld2string`.

use super::bignum::BigUint;
use super::is_c_space;

/// Exponent of the smallest subnormal's only bit: values are `mant × 2^exp`
/// with `exp >= MIN_EXP`; below that precision runs out.
const MIN_EXP: i64 = -16445;
/// Largest exponent of a finite value (`(2^64-1) × 2^16320` is the maximum).
const MAX_EXP: i64 = 16320;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer inputs are rejected unread.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;
/// Decimal exponents beyond this are certain overflow or underflow; clamping
/// keeps the arithmetic small without changing any result.
const DECIMAL_EXP_CLAMP: i64 = 1 << 40;

/// An x87 80-bit extended-precision value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LongDouble {
    /// `±mant × 2^exp`. Normalised: either `mant`'s top bit is set, or
    /// `exp == MIN_EXP` (a subnormal or zero).
    Finite {
        negative: bool,
        mant: u64,
        exp: i64,
    },
    Infinite {
        negative: bool,
    },
    NaN,
}

/// The outcome of rounding an exact value to the format.
struct Rounded {
    value: LongDouble,
    /// True when a non-zero value became zero, or a finite one infinite:
    /// the cases where `strtold` sets `ERANGE` and Redis refuses the number.
    out_of_range: bool,
}

impl LongDouble {
    /// Positive zero.
    pub const ZERO: LongDouble = LongDouble::Finite {
        negative: false,
        mant: 0,
        exp: MIN_EXP,
    };

    /// Zero with the given sign.
    fn zero(negative: bool) -> Self {
        LongDouble::Finite {
            negative,
            mant: 0,
            exp: MIN_EXP,
        }
    }

    /// Parses a number the way Redis's `string2ld` (util.c) does with
    /// `strtold`: decimal (`1.5`, `.5`, `5.`, `1e3`, `+2`), hexadecimal
    /// (`0x1p-2`), `inf`/`infinity`; no leading blank, nothing trailing, no
    /// NaN, and nothing that overflows or underflows to zero.
    ///
    /// Mirror of `string2ld` (util.c).
    pub fn parse(arg: &[u8]) -> Option<LongDouble> {
        // strtold must consume every byte, and it cannot read past a NUL.
        if arg.is_empty() || arg.len() >= MAX_LONG_DOUBLE_CHARS || arg.contains(&0) {
            return None;
        }
        let s = arg;
        let first = s[0];
        if is_c_space(first) {
            return None;
        }
        let (negative, body) = match first {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Infinite { negative });
        }
        let rounded = match body {
            [b'0', b'x' | b'X', hex @ ..] => parse_hex(negative, hex)?,
            _ => parse_decimal(negative, body)?,
        };
        (!rounded.out_of_range).then_some(rounded.value)
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// `self × k`, rounded once, as the x87 unit multiplies (the seconds to
    /// milliseconds step of a blocking command's timeout).
    pub fn mul_u32(self, k: u32) -> LongDouble {
        match self {
            LongDouble::Finite {
                negative,
                mant,
                exp,
            } => {
                let mut product = BigUint::from_u128(u128::from(mant));
                product.mul_small(k);
                round(negative, &product, exp).value
            }
            LongDouble::Infinite { .. } if k == 0 => LongDouble::NaN,
            other => other,
        }
    }

    /// C's `(long long) ceill(x)` on x86-64: rounds up to a whole number,
    /// and, where C leaves the conversion undefined (NaN, infinities, values
    /// outside `i64`), gives what the processor gives, `i64::MIN`.
    pub fn ceil_to_i64(self) -> i64 {
        let LongDouble::Finite {
            negative,
            mant,
            exp,
        } = self
        else {
            return i64::MIN;
        };
        let magnitude: Option<u128> = if exp >= 0 {
            u32::try_from(exp)
                .ok()
                .filter(|&e| e < 64)
                .map(|e| u128::from(mant) << e)
        } else {
            let shift = exp.unsigned_abs();
            let whole = if shift >= 64 { 0 } else { mant >> shift };
            let has_fraction =
                shift >= 64 && mant != 0 || shift < 64 && mant & ((1u64 << shift) - 1) != 0;
            // Rounding up moves a positive value away from zero, a negative one towards it.
            Some(u128::from(whole) + u128::from(has_fraction && !negative))
        };
        match (magnitude, negative) {
            (Some(m), false) => i64::try_from(m).unwrap_or(i64::MIN),
            (Some(m), true) if m <= 1 << 63 => 0i64.wrapping_sub_unsigned(m as u64),
            _ => i64::MIN,
        }
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// `self + other`, rounded once, as the x87 unit adds.
    fn add(self, other: LongDouble) -> LongDouble {
        use LongDouble::*;
        match (self, other) {
            (NaN, _) | (_, NaN) => NaN,
            (Infinite { negative: a }, Infinite { negative: b }) if a != b => NaN,
            (Infinite { negative }, _) | (_, Infinite { negative }) => Infinite { negative },
            (
                Finite {
                    negative: na,
                    mant: ma,
                    exp: ea,
                },
                Finite {
                    negative: nb,
                    mant: mb,
                    exp: eb,
                },
            ) => {
                if ma == 0 && mb == 0 {
                    // -0 + -0 is -0; any other pair of zeros is +0.
                    return LongDouble::zero(na && nb);
                }
                if mb == 0 {
                    return self;
                }
                if ma == 0 {
                    return other;
                }
                let exp = ea.min(eb);
                let a = BigUint::from_u128(u128::from(ma)).shl((ea - exp) as u64);
                let b = BigUint::from_u128(u128::from(mb)).shl((eb - exp) as u64);
                let (negative, sum) = if na == nb {
                    (na, a.add(&b))
                } else if a > b {
                    (na, a.sub(&b))
                } else if b > a {
                    (nb, b.sub(&a))
                } else {
                    return LongDouble::zero(false);
                };
                round(negative, &sum, exp).value
            }
        }
    }
}

impl LongDouble {
    /// The text Redis stores and replies for a `long double`: `"%.17Lf"` with
    /// trailing zeros (and a bare trailing dot) removed, `-0` written as `0`,
    /// and `inf`/`-inf`/`nan` spelled out.
    ///
    /// Mirror of `ld2string` (util.c) in `LD_STR_HUMAN` mode.
    pub fn to_human_string(&self) -> String {
        let (negative, mant, exp) = match *self {
            LongDouble::NaN => return "nan".to_string(),
            LongDouble::Infinite { negative } => {
                return if negative { "-inf" } else { "inf" }.to_string();
            }
            LongDouble::Finite {
                negative,
                mant,
                exp,
            } => (negative, mant, exp),
        };
        let mut text = fixed_17(negative, mant, exp);
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
        if text == "-0" {
            text = "0".to_string();
        }
        text
    }
}

/// Formats `±mant × 2^exp` like `printf("%.17Lf")`: the exact value rounded
/// to 17 decimals (ties to even), with at least one integer digit.
fn fixed_17(negative: bool, mant: u64, exp: i64) -> String {
    const SCALE: u128 = 100_000_000_000_000_000; // 10^17
    let scaled = BigUint::from_u128(u128::from(mant) * SCALE);
    let units = if exp >= 0 {
        scaled.shl(exp as u64)
    } else {
        let shift = exp.unsigned_abs();
        let mut q = BigUint::from_u128(scaled.low_u128_after_shift(shift));
        let half = shift >= 1 && scaled.bit(shift - 1);
        let below_half = shift >= 1 && scaled.any_bit_below(shift - 1);
        if half && (below_half || q.bit(0)) {
            q.add_small(1);
        }
        q
    };
    let digits = format!("{:0>18}", units.to_decimal());
    let (int_part, frac_part) = digits.split_at(digits.len() - 17);
    format!("{}{int_part}.{frac_part}", if negative { "-" } else { "" })
}

/// Rounds the exact value `±big × 2^exp2` to the nearest `long double`,
/// ties to even.
fn round(negative: bool, big: &BigUint, exp2: i64) -> Rounded {
    if big.is_zero() {
        return Rounded {
            value: LongDouble::zero(negative),
            out_of_range: false,
        };
    }
    let bits = big.bit_len() as i64;
    // Keep the top 64 bits, unless that would put the last one below the
    // subnormal floor, in which case keep fewer.
    let mut shift = bits - 64;
    let mut exp = exp2.saturating_add(shift);
    if exp < MIN_EXP {
        shift += MIN_EXP - exp;
        exp = MIN_EXP;
    }
    let mant = if shift <= 0 {
        big.low_u128_after_shift(0) << shift.unsigned_abs()
    } else {
        let shift = shift as u64;
        let mut mant = big.low_u128_after_shift(shift);
        let half = big.bit(shift - 1);
        if half && (big.any_bit_below(shift - 1) || mant & 1 == 1) {
            mant += 1;
        }
        if mant == 1 << 64 {
            mant = 1 << 63;
            exp += 1;
        }
        mant
    };
    if mant == 0 {
        return Rounded {
            value: LongDouble::zero(negative),
            out_of_range: true,
        };
    }
    if exp > MAX_EXP {
        return Rounded {
            value: LongDouble::Infinite { negative },
            out_of_range: true,
        };
    }
    Rounded {
        value: LongDouble::Finite {
            negative,
            mant: mant as u64,
            exp,
        },
        out_of_range: false,
    }
}

/// Splits `digits[.digits]` (at least one digit in all) at the first byte
/// that is not part of it: returns the mantissa digits without the dot, how
/// many of them came after the dot, and the rest of the input.
fn split_mantissa(s: &[u8], is_digit: fn(&u8) -> bool) -> Option<(Vec<u8>, i64, &[u8])> {
    let int_len = s.iter().take_while(|b| is_digit(b)).count();
    let mut digits = s[..int_len].to_vec();
    let mut rest = &s[int_len..];
    let mut frac_len = 0;
    if let Some((b'.', after)) = rest.split_first() {
        let n = after.iter().take_while(|b| is_digit(b)).count();
        digits.extend_from_slice(&after[..n]);
        frac_len = n as i64;
        rest = &after[n..];
    }
    (!digits.is_empty()).then_some((digits, frac_len, rest))
}

/// Parses the exponent part `[+-]digits` of a float literal, which must be
/// the whole of `s`. Huge exponents are clamped (see `DECIMAL_EXP_CLAMP`).
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        v = (v * 10 + i64::from(d - b'0')).min(DECIMAL_EXP_CLAMP);
    }
    Some(if negative { -v } else { v })
}

/// `[digits][.digits][e[+-]digits]`, the whole input, correctly rounded.
fn parse_decimal(negative: bool, s: &[u8]) -> Option<Rounded> {
    let (digits, frac_len, rest) = split_mantissa(s, u8::is_ascii_digit)?;
    let exp10 = match rest {
        [] => 0,
        [b'e' | b'E', exp @ ..] => parse_exponent(exp)?,
        _ => return None,
    };
    // Drop leading and trailing zeros: they change nothing but the work.
    let Some(start) = digits.iter().position(|&d| d != b'0') else {
        return Some(Rounded {
            value: LongDouble::zero(negative),
            out_of_range: false,
        });
    };
    let end = digits
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(start, |p| p + 1);
    let significant = &digits[start..end];
    // The value is significant × 10^scale.
    let scale = exp10 - frac_len + (digits.len() - end) as i64;
    let n_digits = significant.len() as i64;
    // 10^(n-1+scale) <= value < 10^(n+scale); the format spans about
    // 3.6e-4951 (half of it rounds up) to 1.19e4932.
    if n_digits - 1 + scale > 4933 {
        return Some(Rounded {
            value: LongDouble::Infinite { negative },
            out_of_range: true,
        });
    }
    if n_digits + scale < -4952 {
        return Some(Rounded {
            value: LongDouble::zero(negative),
            out_of_range: true,
        });
    }
    let mut big = BigUint::default();
    for &d in significant {
        big.mul_small(10);
        big.add_small(u32::from(d - b'0'));
    }
    if scale >= 0 {
        let mut exact = big;
        for _ in 0..scale {
            exact.mul_small(10);
        }
        return Some(round(negative, &exact, 0));
    }
    // value = big / 10^k. Only the top 66 bits of the quotient and whether
    // anything is left over matter, so scale numerator or divisor by a power
    // of two until the quotient has 66 or 67 bits, then keep "was there a
    // remainder" as one extra sticky bit: rounding then sees where the exact
    // value lies between its two neighbours.
    let divisor = BigUint::pow10(scale.unsigned_abs() as u32);
    let (num_bits, div_bits) = (big.bit_len(), divisor.bit_len());
    let num_shift = (div_bits + 66).saturating_sub(num_bits);
    let div_shift = num_bits.saturating_sub(div_bits + 66);
    let (q, inexact) = big
        .shl(num_shift)
        .div_small_quotient(&divisor.shl(div_shift));
    let with_sticky = BigUint::from_u128((q << 1) | u128::from(inexact));
    Some(round(
        negative,
        &with_sticky,
        div_shift as i64 - num_shift as i64 - 1,
    ))
}

/// The part after `0x`: `[hexdigits][.hexdigits][p[+-]digits]`, the whole
/// input, correctly rounded.
fn parse_hex(negative: bool, s: &[u8]) -> Option<Rounded> {
    let (digits, frac_len, rest) = split_mantissa(s, u8::is_ascii_hexdigit)?;
    let exp2 = match rest {
        [] => 0,
        [b'p' | b'P', exp @ ..] => parse_exponent(exp)?,
        _ => return None,
    };
    let mut big = BigUint::default();
    for &d in &digits {
        big.mul_small(16);
        big.add_small(char::from(d).to_digit(16).unwrap_or(0));
    }
    Some(round(negative, &big, exp2 - 4 * frac_len))
}

#[cfg(test)]
mod tests {

    #[test]
    fn milliseconds_round_like_the_x87() {
        let ms = |text: &str| {
            LongDouble::parse(text.as_bytes())
                .expect("a number")
                .mul_u32(1000)
                .ceil_to_i64()
        };
        // Whether redis-server 7.0.15's BLPOP refuses these timeouts as
        // negative (i64::MIN or below zero), blocks forever (0) or waits
        // briefly follows from these values.
        assert_eq!(ms("1"), 1000);
        assert_eq!(ms("0.0001"), 1);
        assert_eq!(ms("1e-5"), 1);
        assert_eq!(ms("-0.0001"), 0);
        assert_eq!(ms("-0"), 0);
        assert_eq!(ms("-1"), -1000);
        assert_eq!(ms("0x10"), 16000);
        assert_eq!(ms("9223372036854775.807"), 9223372036854775807);
        assert_eq!(ms("9223372036854775.808"), i64::MIN);
        assert_eq!(ms("9223372036854776"), i64::MIN);
        assert_eq!(ms("1e300"), i64::MIN);
        assert_eq!(ms("inf"), i64::MIN);
        assert_eq!(ms("-inf"), i64::MIN);
        assert_eq!(ms("-9223372036854775.808"), -9223372036854775807);
        assert_eq!(ms("-9223372036854775.809"), i64::MIN);
    }
    use super::*;

    fn human(s: &str) -> String {
        LongDouble::parse(s.as_bytes())
            .expect("valid")
            .to_human_string()
    }

    fn sum(a: &str, b: &str) -> String {
        let a = LongDouble::parse(a.as_bytes()).expect("valid a");
        let b = LongDouble::parse(b.as_bytes()).expect("valid b");
        (a + b).to_human_string()
    }

    #[test]
    fn sums_match_redis() {
        // Every expected string was produced by INCRBYFLOAT on redis-server 7.0.15.
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("3.0e3", "0"), "3000");
        assert_eq!(sum("0", "1"), "1");
        assert_eq!(sum("1", "0.1"), "1.1");
        assert_eq!(sum("0.1", "0.2"), "0.3");
        assert_eq!(sum("1", "+1.5"), "2.5");
        assert_eq!(sum("2.5", ".5"), "3");
        assert_eq!(sum("3", "5."), "8");
        assert_eq!(sum("8", "0x10"), "24");
        assert_eq!(sum("24", "0x1p-2"), "24.25");
        assert_eq!(sum("24.25", "-1"), "23.25");
        assert_eq!(sum("23.25", "-1e-20"), "23.25");
        assert_eq!(
            sum("23.25", "1.23456789012345678901234567890"),
            "24.48456789012345679"
        );
        assert_eq!(sum("5", "-5"), "0");
        assert_eq!(sum("-0", "0"), "0");
        assert_eq!(sum("0.3", "1e20"), "100000000000000000000");
        assert_eq!(
            sum("100000000000000000000", "1e-20"),
            "100000000000000000000"
        );
        assert_eq!(sum("1", "1e-17"), "1.00000000000000001");
        assert_eq!(sum("1.00000000000000001", "5e-18"), "1.00000000000000001");
        assert_eq!(sum("1.00000000000000001", "4e-18"), "1.00000000000000001");
        assert_eq!(
            sum("3000", "1e400"),
            "1000000000000000000028188068394758651458645343362905203862591069353968553400862986203936399484832416052\
             209405392731761620029582277725925573402382897659334066101779744743454617391786244811667497172377894382439\
             159333804747067502624668440135923751360383034373548550524495596497902182503828009106841494740245689865304\
             0951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"
        );
    }

    #[test]
    fn sums_that_only_long_double_gets_right() {
        // f64 would print these as 0.30000000000000004 / 10.59999999999999964.
        assert_ne!(sum("0.1", "0.2"), format!("{:.17}", 0.1f64 + 0.2));
        assert_eq!(sum("-1.5", "-1.5"), "-3");
        assert_eq!(sum("-0", "-0"), "0");
        assert_eq!(sum("1e-4950", "0"), "0");
    }

    #[test]
    fn parse_rejects_what_redis_rejects() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "-nan", "1e5000", "-1e5000", "1e-5000", "1e", "1e+", ".",
            "+", "0x", "0x.", "1x", "0x1q", "infinit", "--1",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(LongDouble::parse(&vec![b'1'; 5120]), None);
    }

    #[test]
    fn parse_accepts_what_redis_accepts() {
        assert_eq!(human("inf"), "inf");
        assert_eq!(human("-Infinity"), "-inf");
        assert_eq!(human("0e999999999999999999999"), "0");
        assert_eq!(human("1E2"), "100");
        assert_eq!(human("0X1.8P1"), "3");
        assert_eq!(human("000123.4500"), "123.45");
        // Many integer digits and few decimals (expected text from C's
        // strtold and printf on x86-64 glibc).
        assert_eq!(
            human("123456789012345678901234567890123456789.5"),
            "123456789012345678898145200625606983680"
        );
        assert_eq!(
            human(&format!("{}.5", "9".repeat(60))),
            "999999999999999999999373423426722168652130621984886772203520"
        );
        assert_eq!(
            LongDouble::parse(&vec![b'0'; 5119])
                .map(|v| v.to_human_string())
                .as_deref(),
            Some("0")
        );
        // The smallest subnormal parses (ERANGE, but not zero, so accepted).
        assert!(LongDouble::parse(b"4e-4951").is_some());
    }

    #[test]
    fn overflow_and_nan_from_addition() {
        let max = LongDouble::Finite {
            negative: false,
            mant: u64::MAX,
            exp: MAX_EXP,
        };
        assert!(!(max + max).is_finite());
        let inf = LongDouble::parse(b"inf").expect("inf");
        let minus_inf = LongDouble::parse(b"-inf").expect("-inf");
        assert_eq!((inf + minus_inf), LongDouble::NaN);
        assert_eq!((inf + minus_inf).to_human_string(), "nan");
    }
}
