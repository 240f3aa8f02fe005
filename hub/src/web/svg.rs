//! Charts drawn on the server as inline SVG: small bars of a trend (one bar
//! per quarter) and a horizontal bar chart of a KPI across units with its
//! target. No script, no external resource; every label is escaped.

use std::fmt::Write as _;

use super::html::esc;

/// Bar colour when the target is met.
pub const MET: &str = "#2e7d32";
/// Bar colour when the target is not met.
pub const NOT_MET: &str = "#d84315";
/// Bar colour without a target.
pub const NEUTRAL: &str = "#1e5aa8";
/// Grid and baseline colour.
const GRID: &str = "#d5dbe3";
/// Muted text colour.
const MUTED: &str = "#5f6b7a";
/// Text colour.
const INK: &str = "#1f2933";

/// One bar of a trend: its label (for the tooltip) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spark {
    /// Shown in the bar's tooltip, e.g. `Quý 1/2024: 12`.
    pub label: String,
    /// The bar's value.
    pub value: u64,
}

/// A row of a horizontal bar chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// The unit's name.
    pub label: String,
    /// Where the label links to, if anywhere.
    pub href: Option<String>,
    /// The value in basis points; None draws no bar ("n/a" or hidden).
    pub value_bp: Option<u32>,
    /// The value as shown at the end of the bar.
    pub text: String,
    /// Met the target (None: no target).
    pub met: Option<bool>,
}

/// Small vertical bars, one per value, scaled to the largest; `width`×`height` px.
pub fn sparkbars(bars: &[Spark], width: u32, height: u32, aria: &str) -> String {
    let mut s = format!(
        r#"<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{}">"#,
        esc(aria)
    );
    let n = u32::try_from(bars.len()).unwrap_or(u32::MAX).max(1);
    let gap = 4;
    let bw = (width.saturating_sub(gap * (n - 1)) / n).max(1);
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let usable = height.saturating_sub(1);
    let _ = write!(
        s,
        r#"<line x1="0" y1="{y}" x2="{width}" y2="{y}" stroke="{GRID}" stroke-width="1"/>"#,
        y = height.saturating_sub(1)
    );
    for (i, b) in bars.iter().enumerate() {
        let x = u32::try_from(i).unwrap_or(0) * (bw + gap);
        let h = if max == 0 || b.value == 0 {
            0
        } else {
            u32::try_from((b.value.saturating_mul(u64::from(usable))).div_ceil(max))
                .unwrap_or(usable)
                .clamp(2, usable)
        };
        let y = usable - h;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{y}" width="{bw}" height="{h}" rx="1" fill="{NEUTRAL}"><title>{}</title></rect>"#,
            esc(&b.label)
        );
    }
    s.push_str("</svg>");
    s
}

const ROW: u32 = 26;
const BAR_H: u32 = 16;
const TOP: u32 = 18;
const BOTTOM: u32 = 18;
const LABEL_W: u32 = 170;
const VALUE_W: u32 = 64;

fn fit(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max_chars.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A horizontal bar chart of a percentage across units, 0–100% (further when
/// a value or the target is above), with the target as a dashed line labelled
/// `target_text`, `width` px wide.
pub fn hbars(
    bars: &[Bar],
    target_bp: Option<u32>,
    target_text: &str,
    width: u32,
    aria: &str,
) -> String {
    let rows = u32::try_from(bars.len()).unwrap_or(0);
    let height = TOP + rows * ROW + BOTTOM;
    let plot = width.saturating_sub(LABEL_W + VALUE_W).max(10);
    // The scale: 0–100%, or further in steps of 25% (50% past 200%) when a
    // value or the target is above 100%.
    let top = bars
        .iter()
        .filter_map(|b| b.value_bp)
        .chain(target_bp)
        .max()
        .unwrap_or(0)
        .max(10_000);
    let step = if top > 20_000 { 5_000 } else { 2_500 };
    let max = top.div_ceil(step) * step;
    let x_of = |bp: u32| {
        LABEL_W + u32::try_from(u64::from(bp) * u64::from(plot) / u64::from(max)).unwrap_or(plot)
    };
    let mut s = format!(
        r#"<svg class="hbars" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{}">"#,
        esc(aria)
    );
    // Grid and scale at every step, the scale below the bars.
    for bp in (0..=max).step_by(step as usize) {
        let x = x_of(bp);
        let _ = write!(
            s,
            r#"<line x1="{x}" y1="{TOP}" x2="{x}" y2="{y2}" stroke="{GRID}" stroke-width="1"/><text x="{x}" y="{ty}" font-size="10" fill="{MUTED}" text-anchor="middle">{pct}%</text>"#,
            y2 = height - BOTTOM + 2,
            ty = height - 4,
            pct = bp / 100
        );
    }
    // The target under the bars and their values, so it never hides a number.
    if let Some(t) = target_bp {
        let x = x_of(t);
        let _ = write!(
            s,
            r#"<line class="target" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="{INK}" stroke-width="1.5" stroke-dasharray="4 3"/><text x="{tx}" y="10" font-size="11" fill="{INK}" text-anchor="{anchor}">{}</text>"#,
            esc(target_text),
            y1 = TOP - 4,
            y2 = height - BOTTOM + 2,
            tx = x,
            anchor = if x > width - 120 { "end" } else { "middle" }
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + u32::try_from(i).unwrap_or(0) * ROW + (ROW - BAR_H) / 2;
        let ty = y + BAR_H - 4;
        let label = esc(&fit(&b.label, 24)).to_string();
        match &b.href {
            Some(h) => {
                let _ = write!(
                    s,
                    r#"<a href="{}"><text x="{}" y="{ty}" font-size="12" text-anchor="end" fill="{NEUTRAL}">{label}<title>{}</title></text></a>"#,
                    esc(h),
                    LABEL_W - 8,
                    esc(&b.label)
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<text x="{}" y="{ty}" font-size="12" text-anchor="end" fill="{INK}">{label}<title>{}</title></text>"#,
                    LABEL_W - 8,
                    esc(&b.label)
                );
            }
        }
        let end = match b.value_bp {
            Some(v) => {
                let w = x_of(v) - LABEL_W;
                let fill = match b.met {
                    Some(true) => MET,
                    Some(false) => NOT_MET,
                    None => NEUTRAL,
                };
                let _ = write!(
                    s,
                    r#"<rect class="bar" x="{LABEL_W}" y="{y}" width="{}" height="{BAR_H}" rx="2" fill="{fill}"/>"#,
                    w.max(1)
                );
                LABEL_W + w.max(1)
            }
            None => LABEL_W,
        };
        let _ = write!(
            s,
            r##"<text x="{}" y="{ty}" font-size="12" fill="{}" stroke="#fff" stroke-width="3" paint-order="stroke">{}</text>"##,
            end + 6,
            if b.value_bp.is_some() { INK } else { MUTED },
            esc(&b.text)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, v: Option<u32>, met: Option<bool>) -> Bar {
        Bar {
            label: label.into(),
            href: None,
            value_bp: v,
            text: "x".into(),
            met,
        }
    }

    fn widths(svg: &str) -> Vec<u32> {
        svg.split(r#"class="bar""#)
            .skip(1)
            .filter_map(|rest| {
                rest.split("width=\"")
                    .nth(1)?
                    .split('"')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect()
    }

    #[test]
    fn bar_lengths_are_proportional_and_na_has_none() {
        let svg = hbars(
            &[
                bar("A", Some(10_000), Some(true)),
                bar("B", Some(5_000), Some(false)),
                bar("C", None, None),
            ],
            None,
            "",
            634,
            "chart",
        );
        let w = widths(&svg);
        assert_eq!(w.len(), 2, "{svg}");
        assert_eq!(w[0], 634 - LABEL_W - VALUE_W);
        assert_eq!(w[1], w[0] / 2);
        assert!(svg.contains(MET) && svg.contains(NOT_MET));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn target_line_sits_at_the_target() {
        let svg = hbars(
            &[bar("A", Some(2_000), None)],
            Some(8_000),
            "Mục tiêu 80,0%",
            570,
            "c",
        );
        let plot = 570 - LABEL_W - VALUE_W;
        let x = LABEL_W + plot * 8 / 10;
        assert!(
            svg.contains(&format!(r#"class="target" x1="{x}""#)),
            "{svg}"
        );
        assert!(svg.contains("Mục tiêu 80,0%"));
    }

    #[test]
    fn values_above_100_percent_widen_the_scale() {
        let svg = hbars(
            &[bar("A", Some(20_000), None), bar("B", Some(10_000), None)],
            None,
            "",
            634,
            "c",
        );
        let w = widths(&svg);
        assert_eq!(w[1], w[0] / 2);
        assert!(svg.contains(">200%<") && !svg.contains(">225%<"), "{svg}");
        let svg = hbars(&[bar("A", Some(15_170), None)], Some(5_000), "", 634, "c");
        assert!(svg.contains(">175%<") && !svg.contains(">200%<"), "{svg}");
    }

    #[test]
    fn labels_are_escaped_and_shortened() {
        let svg = hbars(
            &[
                bar("<b>&\"x\"", Some(1), None),
                bar(&"Huyện ".repeat(10), Some(1), None),
            ],
            None,
            "",
            600,
            "<x>",
        );
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("&lt;b&gt;&amp;&quot;x&quot;"));
        assert!(svg.contains('…'));
        assert!(svg.contains(r#"aria-label="&lt;x&gt;""#));
    }

    #[test]
    fn sparkbars_scale_to_the_largest() {
        let bars: Vec<Spark> = [0u64, 5, 10, 20]
            .iter()
            .map(|v| Spark {
                label: format!("Q: {v}"),
                value: *v,
            })
            .collect();
        let svg = sparkbars(&bars, 100, 29, "trend");
        let heights: Vec<u32> = svg
            .split("<rect ")
            .skip(1)
            .filter_map(|r| r.split("height=\"").nth(1)?.split('"').next()?.parse().ok())
            .collect();
        assert_eq!(heights, vec![0, 7, 14, 28]);
        assert_eq!(svg.matches("<title>").count(), 4);
        // All zero: no division by zero, all flat.
        let flat = sparkbars(
            &[Spark {
                label: "a".into(),
                value: 0,
            }],
            20,
            10,
            "t",
        );
        assert!(flat.contains(r#"height="0""#));
    }
}
