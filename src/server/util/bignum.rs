//! Just enough arbitrary-precision unsigned arithmetic to convert between
//! decimal text and binary floating point *exactly*.
//!
//! Correct rounding needs exact intermediate values: `0.1` must be turned
//! into the nearest binary fraction, and a binary fraction printed with 17
//! decimals must be rounded from its exact decimal expansion, which for a
//! `long double` can run to thousands of digits. Only [`super::long_double`]
//! uses this; it is not a general big-number library.

use std::cmp::Ordering;

/// A natural number in base 2^32, least significant limb first, with no
/// trailing zero limbs (so zero is the empty vector).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BigUint {
    limbs: Vec<u32>,
}

impl BigUint {
    pub fn from_u128(mut v: u128) -> Self {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        BigUint { limbs }
    }

    /// 10^k.
    pub fn pow10(k: u32) -> Self {
        let mut n = BigUint::from_u128(1);
        let mut left = k;
        while left >= 9 {
            n.mul_small(1_000_000_000);
            left -= 9;
        }
        n.mul_small(10u32.pow(left));
        n
    }

    pub fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// Number of significant bits (0 for zero).
    pub fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(top) => self.limbs.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    /// Bit `i` (0 = least significant).
    pub fn bit(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        self.limbs
            .get(limb)
            .is_some_and(|l| (l >> (i % 32)) & 1 == 1)
    }

    /// True when any of the bits below bit `i` is set.
    pub fn any_bit_below(&self, i: u64) -> bool {
        let whole = ((i / 32) as usize).min(self.limbs.len());
        if self.limbs[..whole].iter().any(|&l| l != 0) {
            return true;
        }
        let part = (i % 32) as u32;
        part != 0
            && self
                .limbs
                .get(whole)
                .is_some_and(|l| l & ((1u32 << part) - 1) != 0)
    }

    /// The low 128 bits of `self >> shift`.
    pub fn low_u128_after_shift(&self, shift: u64) -> u128 {
        let mut out = 0u128;
        for k in 0..128u64 {
            if self.bit(shift + k) {
                out |= 1 << k;
            }
        }
        out
    }

    pub fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
        self.trim();
    }

    pub fn add_small(&mut self, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.limbs {
            if carry == 0 {
                break;
            }
            let v = u64::from(*limb) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    /// `self * 2^n`.
    pub fn shl(&self, n: u64) -> Self {
        if self.is_zero() {
            return self.clone();
        }
        let words = (n / 32) as usize;
        let bits = (n % 32) as u32;
        let mut limbs = vec![0u32; words];
        limbs.reserve(self.limbs.len() + 1);
        let mut carry = 0u32;
        for &l in &self.limbs {
            if bits == 0 {
                limbs.push(l);
            } else {
                limbs.push((l << bits) | carry);
                carry = l >> (32 - bits);
            }
        }
        if carry != 0 {
            limbs.push(carry);
        }
        BigUint { limbs }
    }

    pub fn add(&self, other: &BigUint) -> Self {
        let (long, short) = if self.limbs.len() >= other.limbs.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut limbs = Vec::with_capacity(long.limbs.len() + 1);
        let mut carry = 0u64;
        for (i, &l) in long.limbs.iter().enumerate() {
            let v = u64::from(l) + u64::from(short.limbs.get(i).copied().unwrap_or(0)) + carry;
            limbs.push(v as u32);
            carry = v >> 32;
        }
        if carry != 0 {
            limbs.push(carry as u32);
        }
        BigUint { limbs }
    }

    /// `self - other`; the caller guarantees `self >= other`.
    pub fn sub(&self, other: &BigUint) -> Self {
        debug_assert!(*self >= *other);
        let mut limbs = Vec::with_capacity(self.limbs.len());
        let mut borrow = 0i64;
        for (i, &l) in self.limbs.iter().enumerate() {
            let mut v = i64::from(l) - i64::from(other.limbs.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            limbs.push(v as u32);
        }
        let mut out = BigUint { limbs };
        out.trim();
        out
    }

    /// Divides in place by a small divisor and returns the remainder.
    pub fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let v = (rem << 32) | u64::from(*limb);
            *limb = (v / u64::from(d)) as u32;
            rem = v % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    /// Quotient and "remainder is non-zero" of `self / divisor`, for a
    /// quotient the caller knows to be small (under 2^127): plain binary
    /// long division, one quotient bit per step.
    pub fn div_small_quotient(&self, divisor: &BigUint) -> (u128, bool) {
        let mut rem = self.clone();
        let mut q = 0u128;
        let top = self.bit_len().saturating_sub(divisor.bit_len());
        debug_assert!(top < 127, "quotient too large for div_small_quotient");
        for i in (0..=top).rev() {
            let shifted = divisor.shl(i);
            if rem >= shifted {
                rem = rem.sub(&shifted);
                q |= 1 << i;
            }
        }
        (q, !rem.is_zero())
    }

    /// Decimal digits, most significant first ("0" for zero).
    pub fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(1_000_000_000));
        }
        let mut out = chunks
            .pop()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "0".to_string());
        for c in chunks.iter().rev() {
            out.push_str(&format!("{c:09}"));
        }
        out
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }
}

impl PartialOrd for BigUint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BigUint {
    fn cmp(&self, other: &Self) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_round_trip() {
        let mut n = BigUint::pow10(30);
        n.add_small(7);
        assert_eq!(n.to_decimal(), "1000000000000000000000000000007");
        assert_eq!(BigUint::default().to_decimal(), "0");
        assert_eq!(
            BigUint::from_u128(u128::MAX).to_decimal(),
            u128::MAX.to_string()
        );
    }

    #[test]
    fn shifts_bits_and_division() {
        let n = BigUint::from_u128(0b1011).shl(100);
        assert_eq!(n.bit_len(), 104);
        assert!(n.bit(100) && n.bit(101) && !n.bit(102) && n.bit(103));
        assert!(!n.any_bit_below(100));
        assert!(n.any_bit_below(101));
        assert_eq!(n.low_u128_after_shift(100), 0b1011);
        let (q, inexact) = BigUint::pow10(40).div_small_quotient(&BigUint::pow10(20));
        assert_eq!((q, inexact), (10u128.pow(20), false));
        let mut seven = BigUint::pow10(20);
        seven.add_small(7);
        let (q, inexact) = seven.div_small_quotient(&BigUint::from_u128(10));
        assert_eq!((q, inexact), (10u128.pow(19), true));
        assert_eq!(
            BigUint::pow10(20).sub(&BigUint::from_u128(1)).to_decimal(),
            "99999999999999999999"
        );
        assert_eq!(
            BigUint::from_u128(u128::MAX).add(&BigUint::from_u128(1)),
            BigUint::from_u128(1).shl(128)
        );
    }
}
