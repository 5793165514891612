//! The robust line: Theil-Sen (the median of the slopes between every pair of points, then the median
//! intercept), which a few outliers or a brief spike do not tilt, and R² to say how well the points follow it.
//! Pure, so it is tested on made-up series.

/// At most this many points go into a fit: longer series are averaged into this many time buckets first, which
/// keeps a fit at about 65,000 slopes whatever the window.
pub const MAX_POINTS: usize = 360;

/// A line through (seconds, value) points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Value units per second.
    pub slope: f64,
    /// The value at t = 0.
    pub intercept: f64,
    /// R² of the points against the line: 1 is a perfect line, 0 or below no better than their mean.
    pub quality: f64,
}

impl Line {
    pub fn at(&self, t: f64) -> f64 {
        self.intercept + self.slope * t
    }
}

/// Fits a line to `points` (time in seconds, ascending); `None` for fewer than three points or no time span.
pub fn fit(points: &[(f64, f64)]) -> Option<Line> {
    let points = downsample(points, MAX_POINTS);
    if points.len() < 3 {
        return None;
    }
    let mut slopes = Vec::with_capacity(points.len() * (points.len() - 1) / 2);
    for (i, (t1, v1)) in points.iter().enumerate() {
        for (t2, v2) in &points[i + 1..] {
            let dt = t2 - t1;
            if dt > 0.0 {
                slopes.push((v2 - v1) / dt);
            }
        }
    }
    let slope = median(&mut slopes)?;
    let mut intercepts: Vec<f64> = points.iter().map(|(t, v)| v - slope * t).collect();
    let intercept = median(&mut intercepts)?;
    let line = Line {
        slope,
        intercept,
        quality: 0.0,
    };
    Some(Line {
        quality: r_squared(&points, &line),
        ..line
    })
}

/// 1 - (residual sum of squares / total sum of squares). A series with no spread at all fits its (flat) line
/// perfectly only when the line is flat.
pub fn r_squared(points: &[(f64, f64)], line: &Line) -> f64 {
    let n = points.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let mean = points.iter().map(|(_, v)| v).sum::<f64>() / n;
    let total: f64 = points.iter().map(|(_, v)| (v - mean).powi(2)).sum();
    let residual: f64 = points.iter().map(|(t, v)| (v - line.at(*t)).powi(2)).sum();
    if total <= f64::EPSILON * n {
        return if residual <= f64::EPSILON * n {
            1.0
        } else {
            0.0
        };
    }
    1.0 - residual / total
}

/// Averages points into at most `max` buckets of equal time (empty buckets are skipped).
pub fn downsample(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let span = last.0 - first.0;
    if span <= 0.0 {
        return points[..1].to_vec();
    }
    let mut sums = vec![(0.0, 0.0, 0usize); max];
    for (t, v) in points {
        let index = (((t - first.0) / span) * max as f64) as usize;
        let bucket = &mut sums[index.min(max - 1)];
        bucket.0 += t;
        bucket.1 += v;
        bucket.2 += 1;
    }
    sums.into_iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(t, v, n)| (t / n as f64, v / n as f64))
        .collect()
}

fn median(values: &mut Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize, value: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| (i as f64 * 60.0, value(i as f64 * 60.0)))
            .collect()
    }

    #[test]
    fn a_straight_line_is_found_exactly() {
        let line = fit(&series(100, |t| 10.0 + 0.5 * t)).expect("a line");
        assert!((line.slope - 0.5).abs() < 1e-9, "{line:?}");
        assert!((line.intercept - 10.0).abs() < 1e-6, "{line:?}");
        assert!(line.quality > 0.999, "{line:?}");
    }

    #[test]
    fn outliers_do_not_tilt_the_line() {
        let mut points = series(200, |t| 1000.0 + 2.0 * t);
        for i in (0..200).step_by(17) {
            points[i].1 += 50_000.0;
        }
        let line = fit(&points).expect("a line");
        assert!((line.slope - 2.0).abs() / 2.0 < 0.02, "{line:?}");
    }

    #[test]
    fn noise_around_a_flat_level_has_no_quality() {
        // A deterministic wobble with no trend.
        let points = series(500, |t| 50.0 + ((t * 7.3).sin() * 3.0));
        let line = fit(&points).expect("a line");
        assert!(line.quality < 0.2, "{line:?}");
        assert!(line.slope.abs() < 0.001, "{line:?}");
    }

    #[test]
    fn long_series_are_bucketed() {
        let points = series(5000, |t| t);
        assert!(downsample(&points, MAX_POINTS).len() <= MAX_POINTS);
        let line = fit(&points).expect("a line");
        assert!((line.slope - 1.0).abs() < 1e-6);
        assert!(fit(&points[..2]).is_none());
    }
}
