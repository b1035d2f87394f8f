//! A small SVG writer for two kinds of chart: grouped bars (one group per
//! x label, one bar per series) and lines over a logarithmic x axis (one
//! line per series). Linear or logarithmic y. No dependencies.

use std::fmt::Write;

/// One series: its name and (x, y) points. For bars, `x` is an index into
/// [`Chart::groups`]; for lines, the x value itself.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

pub enum Kind {
    /// Grouped bars; the group labels in order.
    Bars(Vec<String>),
    /// Lines over a log10 x axis, with this x-axis label.
    LogXLines(String),
}

pub struct Chart {
    pub title: String,
    pub subtitle: String,
    pub y_label: String,
    pub log_y: bool,
    pub kind: Kind,
    pub series: Vec<Series>,
}

const W: f64 = 760.0;
const H: f64 = 430.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 62.0;
/// strands first, then the peers (the order of `COLORS` follows the order
/// of the series in the chart).
const COLORS: [&str; 6] = [
    "#d9480f", "#1971c2", "#2f9e44", "#7048e8", "#868e96", "#e8590c",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A short label for a value: 3 significant digits, k/M suffixes.
pub fn short(v: f64) -> String {
    let (v, suffix) = if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$}{suffix}")
}

/// A tick label: whole numbers without decimals (10, 250, 10k, 1M).
fn tick(v: f64) -> String {
    if v >= 1e6 && v % 1e6 == 0.0 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 && v % 1e3 == 0.0 {
        format!("{}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v}")
    } else {
        short(v)
    }
}

/// Round tick values covering `lo..=hi` on a linear axis (lo is 0 here).
fn linear_ticks(hi: f64) -> Vec<f64> {
    let raw = hi / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| hi / s <= 6.0)
        .unwrap_or(10.0 * mag);
    (0..=((hi / step).ceil() as usize))
        .map(|i| i as f64 * step)
        .collect()
}

struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Pixel range.
    p0: f64,
    p1: f64,
}

impl Axis {
    fn map(&self, v: f64) -> f64 {
        let t = if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        self.p0 + t * (self.p1 - self.p0)
    }
}

/// The decades from below `lo` to above `hi`.
fn decades(lo: f64, hi: f64) -> (f64, f64, Vec<f64>) {
    let a = lo.log10().floor() as i32;
    let b = hi.log10().ceil() as i32;
    let b = if b == a { a + 1 } else { b };
    (
        10f64.powi(a),
        10f64.powi(b),
        (a..=b).map(|e| 10f64.powi(e)).collect(),
    )
}

pub fn render(c: &Chart) -> String {
    let mut s = String::new();
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let ys: Vec<f64> = c
        .series
        .iter()
        .flat_map(|se| se.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let (ymin, ymax) = ys
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let (ylo, yhi, yticks) = if ys.is_empty() {
        (0.0, 1.0, vec![0.0, 1.0])
    } else if c.log_y {
        decades(ymin, ymax)
    } else {
        let t = linear_ticks(ymax * 1.08);
        (0.0, *t.last().unwrap(), t)
    };
    let y = Axis {
        lo: ylo,
        hi: yhi,
        log: c.log_y,
        p0: TOP + plot_h,
        p1: TOP,
    };

    writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    )
    .unwrap();
    writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#).unwrap();
    writeln!(
        s,
        r#"<text x="{LEFT}" y="22" font-size="16" font-weight="bold">{}</text>"#,
        esc(&c.title)
    )
    .unwrap();
    writeln!(
        s,
        r##"<text x="{LEFT}" y="40" fill="#555">{}</text>"##,
        esc(&c.subtitle)
    )
    .unwrap();

    // y grid and labels
    for t in &yticks {
        let py = y.map(if c.log_y { *t } else { t.max(ylo) });
        writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end" fill="#333">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            py + 4.0,
            tick(*t)
        )
        .unwrap();
    }
    writeln!(
        s,
        r##"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle" fill="#333">{}</text>"##,
        TOP + plot_h / 2.0,
        esc(&c.y_label)
    )
    .unwrap();

    match &c.kind {
        Kind::Bars(groups) => {
            let ng = groups.len().max(1) as f64;
            let ns = c.series.len().max(1) as f64;
            let gw = plot_w / ng;
            let bw = (gw * 0.8 / ns).min(48.0);
            for (gi, g) in groups.iter().enumerate() {
                let gx = LEFT + gw * gi as f64 + gw / 2.0;
                writeln!(
                    s,
                    r##"<text x="{gx:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
                    TOP + plot_h + 18.0,
                    esc(g)
                )
                .unwrap();
                for (si, se) in c.series.iter().enumerate() {
                    let Some(&(_, v)) = se.points.iter().find(|p| p.0 as usize == gi) else {
                        continue;
                    };
                    let x0 = gx - bw * ns / 2.0 + bw * si as f64;
                    let py = y.map(v.max(if c.log_y { ylo } else { 0.0 }));
                    let base = y.map(ylo.max(if c.log_y { ylo } else { 0.0 }));
                    writeln!(
                        s,
                        r#"<rect x="{:.1}" y="{py:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                        x0 + 1.0,
                        bw - 2.0,
                        (base - py).max(0.0),
                        COLORS[si % COLORS.len()],
                        esc(&se.name),
                        short(v)
                    )
                    .unwrap();
                    writeln!(
                        s,
                        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#333">{}</text>"##,
                        x0 + bw / 2.0,
                        py - 3.0,
                        short(v)
                    )
                    .unwrap();
                }
            }
        }
        Kind::LogXLines(x_label) => {
            let xs: Vec<f64> = c
                .series
                .iter()
                .flat_map(|se| se.points.iter().map(|p| p.0))
                .filter(|v| *v > 0.0)
                .collect();
            let (xmin, xmax) = xs
                .iter()
                .fold((f64::INFINITY, 0f64), |(a, b), &v| (a.min(v), b.max(v)));
            let (xlo, xhi, xticks) = if xs.is_empty() {
                (1.0, 10.0, vec![1.0, 10.0])
            } else {
                decades(xmin, xmax)
            };
            let x = Axis {
                lo: xlo,
                hi: xhi,
                log: true,
                p0: LEFT,
                p1: LEFT + plot_w,
            };
            for t in &xticks {
                let px = x.map(*t);
                writeln!(
                    s,
                    r##"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{:.1}" stroke="#eee"/><text x="{px:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
                    TOP + plot_h,
                    TOP + plot_h + 18.0,
                    tick(*t)
                )
                .unwrap();
            }
            writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
                LEFT + plot_w / 2.0,
                H - 16.0,
                esc(x_label)
            )
            .unwrap();
            for (si, se) in c.series.iter().enumerate() {
                let color = COLORS[si % COLORS.len()];
                let pts: Vec<String> = se
                    .points
                    .iter()
                    .map(|&(px, py)| format!("{:.1},{:.1}", x.map(px), y.map(py.max(ylo))))
                    .collect();
                writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                    pts.join(" ")
                )
                .unwrap();
                for &(px, py) in &se.points {
                    writeln!(
                        s,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"><title>{}: {} at {}</title></circle>"#,
                        x.map(px),
                        y.map(py.max(ylo)),
                        esc(&se.name),
                        short(py),
                        short(px)
                    )
                    .unwrap();
                }
            }
        }
    }
    // axes
    writeln!(
        s,
        r##"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{:.1}" stroke="#333"/><line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#333"/>"##,
        TOP + plot_h,
        LEFT + plot_w,
        TOP + plot_h,
        TOP + plot_h
    )
    .unwrap();
    // legend, in one row under the subtitle
    let mut lx = LEFT;
    for (si, se) in c.series.iter().enumerate() {
        writeln!(
            s,
            r##"<rect x="{lx:.1}" y="50" width="12" height="12" fill="{}"/><text x="{:.1}" y="60" fill="#333">{}</text>"##,
            COLORS[si % COLORS.len()],
            lx + 16.0,
            esc(&se.name)
        )
        .unwrap();
        lx += 24.0 + 7.0 * se.name.len() as f64;
    }
    s.push_str("</svg>\n");
    s
}
