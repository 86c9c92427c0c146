//! Line charts drawn on the server as SVG by `plotters` (its SVG backend only), embedded in
//! the page: no script, no font files. Each chart carries a `<title>` and `role="img"` with
//! an `aria-labelledby`, and the page gives its numbers as a table too.

use plotters::prelude::*;

/// One line of a chart.
pub(crate) struct Series<'a> {
    /// Its name, in the legend.
    pub(crate) name: &'a str,
    /// Its colour.
    pub(crate) colour: RGBColor,
    /// Points: minutes relative to now (negative), value.
    pub(crate) points: Vec<(f64, f64)>,
}

/// Colours distinguishable by most readers (the Okabe–Ito palette).
pub(crate) const BLUE: RGBColor = RGBColor(0, 114, 178);
/// An orange of the same palette.
pub(crate) const ORANGE: RGBColor = RGBColor(230, 159, 0);
/// A vermilion of the same palette.
pub(crate) const VERMILION: RGBColor = RGBColor(213, 94, 0);

/// An SVG line chart of `series` over the last `minutes` minutes, titled `title` (also its
/// accessible name, by `id`).
pub(crate) fn line_chart(
    id: &str,
    title: &str,
    y_label: &str,
    minutes: i64,
    series: &[Series<'_>],
) -> Result<String, String> {
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    // Headroom above the highest point, and a visible scale when everything is zero.
    let top = if top <= 0.0 { 1.0 } else { top * 1.15 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .caption(title, ("sans-serif", 22))
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(-(minutes as f64)..0.0, 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", 15))
            .x_desc("minutes ago")
            .y_desc(y_label)
            .x_label_formatter(&|x| format!("{}", -x.round() as i64))
            .draw()
            .map_err(|e| e.to_string())?;
        for line in series {
            let colour = line.colour;
            chart
                // Points are marked too: a minute alone between gaps (latency) is no line.
                .draw_series(
                    LineSeries::new(line.points.iter().copied(), colour.stroke_width(2))
                        .point_size(2),
                )
                .map_err(|e| e.to_string())?
                .label(line.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 15))
            .background_style(WHITE)
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(accessible(&svg, id, title))
}

/// Gives the SVG an accessible name: `role="img"`, `aria-labelledby` and a `<title>`.
fn accessible(svg: &str, id: &str, title: &str) -> String {
    let title = crate::web::escape_text(title);
    let Some(open) = svg.find("<svg") else {
        return svg.to_owned();
    };
    let Some(end) = svg[open..].find('>').map(|e| open + e) else {
        return svg.to_owned();
    };
    format!(
        "{} role=\"img\" aria-labelledby=\"{id}\" class=\"chart\"><title id=\"{id}\">{title}</title>{}",
        &svg[open..end],
        &svg[end + 1..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_with_its_title_and_every_series() {
        let svg = line_chart(
            "c1",
            "Requests & errors",
            "per minute",
            10,
            &[
                Series {
                    name: "requests",
                    colour: BLUE,
                    points: vec![(-2.0, 3.0), (-1.0, 7.0), (0.0, 1.0)],
                },
                Series {
                    name: "4xx",
                    colour: ORANGE,
                    points: vec![(-2.0, 0.0), (-1.0, 2.0), (0.0, 0.0)],
                },
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("role=\"img\" aria-labelledby=\"c1\""));
        assert!(svg.contains("<title id=\"c1\">Requests &amp; errors</title>"));
        assert!(
            svg.contains("\nrequests\n</text>"),
            "the legend names the series: {svg}"
        );
        assert!(svg.contains("\n4xx\n</text>"));
        assert!(svg.contains("<polyline"), "a line is drawn: {svg}");
        assert!(
            !svg.contains("style="),
            "no inline style (the page's CSP refuses it)"
        );
    }
}
