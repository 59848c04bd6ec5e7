//! Figures: the quickstart's systems as pictures.
//!
//! Simulates the five systems of `examples/quickstart.rs`, computes their DSA distance matrix
//! (`Dsa::default().pairwise`) and writes two PNG files:
//!
//! * `dsa_heatmap.png`: the distance matrix as a heatmap, labelled, with a colour bar;
//! * `dsa_mds.png`: a 2-D classical multidimensional-scaling map of the systems
//!   (`dsa::mds::classical_mds`), where the distance between two points approximates their DSA
//!   distance.
//!
//! Run with `cargo run --release --features plot --example figures [-- OUTPUT_DIR]`
//! (default `target/figures/`).
//!
//! Drawn with plotters' bitmap backend; text is rendered by ab_glyph with DejaVu Sans, embedded
//! from the `dejavu` crate, so nothing depends on the fonts or libraries of the system.

use std::error::Error;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use faer::Mat;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

mod systems;
use systems::{quickstart_systems, NAMES};

type Res<T> = Result<T, Box<dyn Error>>;
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(30, 30, 30);
const GREY: RGBColor = RGBColor(100, 100, 100);
const LIGHT: RGBColor = RGBColor(225, 225, 225);

/// What each system is, for the MDS map's colours: the three spirals run the same dynamics.
const KIND: [usize; 5] = [0, 0, 0, 1, 2];
const KIND_COLOUR: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(230, 120, 20),
    RGBColor(44, 160, 44),
];
const KIND_NAME: [&str; 3] = ["spiral (same dynamics)", "node", "van der Pol (nonlinear)"];

fn main() -> Res<()> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/figures"));
    std::fs::create_dir_all(&out)?;

    plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "DejaVu Sans did not load")?;
    plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
        .map_err(|_| "DejaVu Sans Bold did not load")?;

    let systems = quickstart_systems();
    let dsa = dsa::Dsa::default();
    let rank = dsa.fit(&systems[0])?.rank();
    let d = dsa.pairwise(&systems)?;
    let settings = format!("Dsa::default(): 10 delays, rank {rank}");

    let heatmap = out.join("dsa_heatmap.png");
    render(&heatmap, (860, 720), |root| {
        draw_heatmap(root, &d, &settings)
    })?;
    println!("wrote {}", heatmap.display());

    let map = dsa::mds::classical_mds(d.as_ref(), 2)?;
    let mds = out.join("dsa_mds.png");
    let layout = MdsLayout::new(&map);
    render(&mds, layout.canvas, |root| {
        draw_mds(root, &d, &map, &layout, &settings)
    })?;
    println!("wrote {}", mds.display());
    println!(
        "MDS: eigenvalues {:.4?}, Kruskal stress {:.3}",
        map.eigenvalues, map.stress
    );
    // where the map distorts most: the pair whose distance on the page is furthest off
    let n = NAMES.len();
    let on_page = |i: usize, j: usize| {
        (map.coords[(i, 0)] - map.coords[(j, 0)]).hypot(map.coords[(i, 1)] - map.coords[(j, 1)])
    };
    if let Some((i, j)) = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .max_by(|a, b| {
            let off = |(i, j): (usize, usize)| (on_page(i, j) - d[(i, j)]).abs();
            off(*a).total_cmp(&off(*b))
        })
    {
        println!(
            "largest distortion: {} - {}: DSA {:.3}, on the map {:.3}",
            NAMES[i],
            NAMES[j],
            d[(i, j)],
            on_page(i, j)
        );
    }
    Ok(())
}

/// Draws into an RGB buffer and writes it as a PNG file.
fn render(path: &Path, (w, h): (u32, u32), draw: impl FnOnce(&Area<'_>) -> Res<()>) -> Res<()> {
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    let mut encoder = png::Encoder::new(BufWriter::new(File::create(path)?), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    encoder.write_header()?.write_image_data(&buf)?;
    Ok(())
}

fn text(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

fn bold(size: f64) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold).into_font().color(&INK)
}

/// A round step giving about `n` ticks on `[0, max]`.
fn tick_step(max: f64, n: f64) -> f64 {
    let raw = max / n;
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// Decimals to print ticks of step `step` without trailing noise.
fn decimals(step: f64) -> usize {
    (0..6)
        .find(|&k| {
            let s = step * 10f64.powi(k as i32);
            (s - s.round()).abs() < 1e-9
        })
        .unwrap_or(6)
}

fn draw_heatmap(root: &Area<'_>, d: &Mat<f64>, settings: &str) -> Res<()> {
    let n = d.nrows();
    let vmax = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| d[(i, j)])
        .fold(0.0_f64, f64::max);
    let colour = |v: f64| ViridisRGB::get_color_normalized(v as f32, 0.0, vmax.max(1e-300) as f32);

    root.draw(&Text::new(
        "DSA distance between the quickstart's systems",
        (40, 22),
        bold(26.0),
    ))?;
    root.draw(&Text::new(
        format!("angular distance in radians; {settings}"),
        (40, 60),
        text(17.0).color(&GREY),
    ))?;

    // Cells, with the row labels on the left and the column labels below, turned upright.
    let (cell, x0, y0) = (92, 200, 110);
    let label = text(18.0);
    for i in 0..n {
        let y = y0 + cell * i as i32;
        root.draw(&Text::new(
            NAMES[i],
            (x0 - 14, y + cell / 2),
            label.pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        for j in 0..n {
            let x = x0 + cell * j as i32;
            let v = d[(i, j)];
            let fill = colour(v);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                fill.filled(),
            ))?;
            // light text on the dark end of the scale, dark text on the bright end
            let luma = 0.299 * fill.0 as f64 + 0.587 * fill.1 as f64 + 0.114 * fill.2 as f64;
            let ink = if luma < 140.0 { WHITE } else { INK };
            root.draw(&Text::new(
                format!("{v:.3}"),
                (x + cell / 2, y + cell / 2),
                text(18.0)
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
    }
    let bottom = y0 + cell * n as i32;
    let upright = label.transform(FontTransform::Rotate270);
    for (j, name) in NAMES.iter().enumerate() {
        let (w, h) = root.estimate_text_size(name, &label)?;
        // Rotate270 turns the text about its anchor: it then reads upwards from (x, y), its
        // width running up and its height to the right; anchor it so the text ends just below
        // the matrix, centred on the column.
        let x = x0 + cell * j as i32 + cell / 2 - h as i32 / 2;
        let y = bottom + 14 + w as i32;
        root.draw(&Text::new(*name, (x, y), upright.clone()))?;
    }
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + cell * n as i32, bottom)],
        INK.stroke_width(1),
    ))?;

    // Colour bar: a column of thin bands from 0 (bottom) to vmax (top), ticks on the right.
    let (bx, bw) = (x0 + cell * n as i32 + 40, 26);
    let height = bottom - y0;
    for k in 0..height {
        let v = vmax * (height - k) as f64 / height as f64;
        root.draw(&Rectangle::new(
            [(bx, y0 + k), (bx + bw, y0 + k + 1)],
            colour(v).filled(),
        ))?;
    }
    root.draw(&Rectangle::new(
        [(bx, y0), (bx + bw, bottom)],
        INK.stroke_width(1),
    ))?;
    let step = tick_step(vmax, 5.0);
    let places = decimals(step);
    let mut t = 0.0;
    while t <= vmax * (1.0 + 1e-9) {
        let y = bottom - (t / vmax * height as f64).round() as i32;
        root.draw(&PathElement::new(
            vec![(bx + bw, y), (bx + bw + 6, y)],
            INK.stroke_width(1),
        ))?;
        root.draw(&Text::new(
            format!("{t:.places$}"),
            (bx + bw + 10, y),
            text(16.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        t += step;
    }
    let caption = "DSA distance (rad)";
    let (cw, _) = root.estimate_text_size(caption, &text(16.0))?;
    root.draw(&Text::new(
        caption,
        (bx + bw + 62, y0 + height / 2 + cw as i32 / 2),
        text(16.0).transform(FontTransform::Rotate270),
    ))?;
    Ok(())
}

/// The MDS map's geometry: equal scales on both axes, so that distances on the page are
/// distances between systems. The plotting area is `PW` pixels wide and as tall as the points'
/// spread needs (within bounds); both ranges get the same units per pixel.
struct MdsLayout {
    canvas: (u32, u32),
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    per_px: f64,
}

/// Margins of the MDS plotting area (label areas included), and its width.
const MDS_LEFT: i32 = 90;
const MDS_RIGHT: i32 = 40;
const MDS_TOP: i32 = 100;
const MDS_BOTTOM: i32 = 80;
const MDS_PW: i32 = 730;

impl MdsLayout {
    fn new(map: &dsa::mds::MdsEmbedding) -> Self {
        let n = map.coords.nrows();
        let (mut xmin, mut xmax, mut ymin, mut ymax) = (0..n).fold(
            (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
            |(a, b, c, e), i| {
                let (x, y) = (map.coords[(i, 0)], map.coords[(i, 1)]);
                (a.min(x), b.max(x), c.min(y), e.max(y))
            },
        );
        let span = (xmax - xmin).max(ymax - ymin).max(1e-12);
        // room for the labels, written to the right of the points, and for the legend on top
        xmin -= 0.12 * span;
        xmax += 0.45 * span;
        ymin -= 0.12 * span;
        ymax += 0.30 * span;
        let pw = MDS_PW as f64;
        let ph = (pw * (ymax - ymin) / (xmax - xmin)).clamp(320.0, 560.0);
        let per_px = ((xmax - xmin) / pw).max((ymax - ymin) / ph);
        let (cx, cy) = ((xmin + xmax) / 2.0, (ymin + ymax) / 2.0);
        let (hx, hy) = (per_px * pw / 2.0, per_px * ph / 2.0);
        MdsLayout {
            canvas: (
                (MDS_LEFT + MDS_PW + MDS_RIGHT) as u32,
                (MDS_TOP + ph.round() as i32 + MDS_BOTTOM) as u32,
            ),
            x: (cx - hx)..(cx + hx),
            y: (cy - hy)..(cy + hy),
            per_px,
        }
    }
}

fn draw_mds(
    root: &Area<'_>,
    d: &Mat<f64>,
    map: &dsa::mds::MdsEmbedding,
    layout: &MdsLayout,
    settings: &str,
) -> Res<()> {
    let n = d.nrows();
    let xy: Vec<(f64, f64)> = (0..n)
        .map(|i| (map.coords[(i, 0)], map.coords[(i, 1)]))
        .collect();
    let positive: f64 = map.eigenvalues.iter().filter(|l| **l > 0.0).sum();
    let share = |k: usize| 100.0 * map.eigenvalues[k].max(0.0) / positive;
    let per_px = layout.per_px;

    root.draw(&Text::new(
        "The quickstart's systems, placed by their DSA distances",
        (40, 22),
        bold(26.0),
    ))?;
    root.draw(&Text::new(
        format!(
            "classical MDS of the DSA distance matrix ({settings}); Kruskal stress {:.2}",
            map.stress
        ),
        (40, 60),
        text(17.0).color(&GREY),
    ))?;

    let mut chart = ChartBuilder::on(&root.margin(MDS_TOP as u32, 10, 10, MDS_RIGHT as u32))
        .x_label_area_size(MDS_BOTTOM - 10)
        .y_label_area_size(MDS_LEFT - 10)
        .build_cartesian_2d(layout.x.clone(), layout.y.clone())?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(LIGHT)
        .x_labels(8)
        .y_labels(8)
        .axis_style(GREY)
        .label_style(text(15.0).color(&GREY))
        .axis_desc_style(text(17.0))
        .x_desc(format!(
            "MDS axis 1 ({:.0}% of the positive eigenvalues)",
            share(0)
        ))
        .y_desc(format!("MDS axis 2 ({:.0}%)", share(1)))
        .x_label_formatter(&|v| format!("{v:.2}"))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()?;

    // Systems closer than a few pixels share one marker and one label.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let near = groups.iter_mut().find(|g| {
            let (x, y) = xy[g[0]];
            ((x - xy[i].0).hypot(y - xy[i].1)) < 8.0 * per_px
        });
        match near {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    for g in &groups {
        let (x, y) = xy[g[0]];
        let c = KIND_COLOUR[KIND[g[0]]];
        chart.draw_series(std::iter::once(Circle::new((x, y), 9, c.filled())))?;
        chart.draw_series(std::iter::once(Circle::new(
            (x, y),
            9,
            WHITE.stroke_width(2),
        )))?;
        let names: Vec<&str> = g.iter().map(|&i| NAMES[i]).collect();
        let mut label = names.join(" = ");
        if g.len() > 1 {
            label.push_str(&format!(" (distance {:.0e})", d[(g[0], g[1])]));
        }
        chart.draw_series(std::iter::once(Text::new(
            label,
            (x + 16.0 * per_px, y),
            text(17.0).pos(Pos::new(HPos::Left, VPos::Center)),
        )))?;
    }

    // Legend, top right: what the colours mean.
    let (lw, lh) = (250, 12 + 24 * KIND_NAME.len() as i32);
    let (lx, ly) = (MDS_LEFT + MDS_PW - lw - 12, MDS_TOP + 12);
    root.draw(&Rectangle::new(
        [(lx, ly), (lx + lw, ly + lh)],
        WHITE.filled(),
    ))?;
    root.draw(&Rectangle::new(
        [(lx, ly), (lx + lw, ly + lh)],
        LIGHT.stroke_width(1),
    ))?;
    for (k, name) in KIND_NAME.iter().enumerate() {
        let y = ly + 18 + 24 * k as i32;
        root.draw(&Circle::new((lx + 18, y), 7, KIND_COLOUR[k].filled()))?;
        root.draw(&Text::new(
            *name,
            (lx + 34, y),
            text(15.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}
