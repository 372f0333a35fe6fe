//! Numbers for people: `1,234,567`, `1.23e12`, `1.5 GiB`.

/// `1234567` -> `1,234,567`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1.23e12`-style figures for FLOP counts; small numbers as they are.
pub fn human(n: u64) -> String {
    if n < 100_000 {
        return n.to_string();
    }
    let mut exp = (n as f64).log10().floor() as i32;
    let mut mantissa = (n as f64 / 10f64.powi(exp) * 100.0).round() / 100.0;
    // 9.995e11 rounds to 10.00: write it as 1.00e12.
    if mantissa >= 10.0 {
        mantissa /= 10.0;
        exp += 1;
    }
    format!("{mantissa:.2}e{exp}")
}

/// `1.5 GiB`
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

/// `1e12`, `3e12`, `2.5e11`: short scientific notation (three significant digits at most) for
/// budgets in names and plot ticks.
pub fn sci(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mut exp = x.abs().log10().floor() as i32;
    let mut mantissa = (x / 10f64.powi(exp) * 100.0).round() / 100.0;
    if mantissa.abs() >= 10.0 {
        mantissa /= 10.0;
        exp += 1;
    }
    let digits = format!("{mantissa:.2}");
    let digits = digits.trim_end_matches('0').trim_end_matches('.');
    format!("{digits}e{exp}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(human(1_230_000_000_000), "1.23e12");
        assert_eq!(human(999_999_000_000), "1.00e12");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(sci(1e12), "1e12");
        assert_eq!(sci(2.5e11), "2.5e11");
        assert_eq!(sci(9.999e11), "1e12");
        assert_eq!(sci(0.05), "5e-2");
    }
}
