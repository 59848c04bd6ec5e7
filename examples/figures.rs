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
//! Shapes are drawn by plotters' bitmap backend; text is laid out and rasterized here with
//! ab_glyph, in DejaVu Sans embedded from the `dejavu` crate, after the shapes (plotters' own
//! ab_glyph text drops each glyph's side bearing, which spaces letters unevenly). Nothing
//! depends on the fonts or libraries of the system. The PNG is written by the `png` crate.

use std::error::Error;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use faer::Mat;
use plotters::coord::Shift;
use plotters::prelude::*;

mod systems;
use systems::{quickstart_systems, NAMES};

type Res<T> = Result<T, Box<dyn Error>>;
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

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
    let font = |bytes| FontRef::try_from_slice(bytes).map_err(|e| format!("DejaVu Sans: {e}"));
    let fonts = Fonts {
        regular: font(dejavu::sans::regular())?,
        bold: font(dejavu::sans::bold())?,
    };

    let systems = quickstart_systems();
    let dsa = dsa::Dsa::default();
    let rank = dsa.fit(&systems[0])?.rank();
    let d = dsa.pairwise(&systems)?;
    let settings = format!("Dsa::default(): 10 delays, rank {rank}");

    let heatmap = out.join("dsa_heatmap.png");
    render(&heatmap, (860, 720), &fonts, |root, text| {
        draw_heatmap(root, text, &d, &settings)
    })?;
    println!("wrote {}", heatmap.display());

    let map = dsa::mds::classical_mds(d.as_ref(), 2)?;
    let layout = MdsLayout::new(&map);
    let mds = out.join("dsa_mds.png");
    render(&mds, layout.canvas, &fonts, |root, text| {
        draw_mds(root, text, &d, &map, &layout, &settings)
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

// ---------------------------------------------------------------------------------------------
// Text

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

/// Where a label's anchor point sits on its box, along the reading direction.
#[derive(Clone, Copy)]
enum Along {
    Start,
    Middle,
    End,
}

/// A line of text, drawn after the shapes.
struct Label {
    text: String,
    /// The anchor point, in pixels.
    at: (i32, i32),
    size: f32,
    bold: bool,
    colour: RGBColor,
    /// Where the anchor sits along the text; across it, the anchor is at the middle of the
    /// box (from the ascent to the descent).
    along: Along,
    /// Turned a quarter to the left: reading upwards.
    upright: bool,
}

impl Label {
    fn new(text: impl Into<String>, at: (i32, i32), size: f32) -> Self {
        Label {
            text: text.into(),
            at,
            size,
            bold: false,
            colour: INK,
            along: Along::Start,
            upright: false,
        }
    }
    fn bold(mut self) -> Self {
        self.bold = true;
        self
    }
    fn colour(mut self, colour: RGBColor) -> Self {
        self.colour = colour;
        self
    }
    fn along(mut self, along: Along) -> Self {
        self.along = along;
        self
    }
    fn upright(mut self) -> Self {
        self.upright = true;
        self
    }
}

/// The labels of a picture and the fonts to measure them with.
struct Labels<'f> {
    fonts: &'f Fonts,
    labels: Vec<Label>,
}

impl Labels<'_> {
    fn add(&mut self, label: Label) {
        self.labels.push(label);
    }

    /// Width of `text` in pixels (advances and kerning).
    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let font = if bold {
            &self.fonts.bold
        } else {
            &self.fonts.regular
        };
        let scaled = font.as_scaled(PxScale::from(size));
        let mut prev = None;
        let mut pen = 0.0;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                pen += scaled.kern(p, id);
            }
            pen += scaled.h_advance(id);
            prev = Some(id);
        }
        pen
    }

    /// Rasterizes every label into an RGB buffer of width `w`, blending by coverage.
    fn rasterize(&self, buf: &mut [u8], (w, h): (u32, u32)) {
        for l in &self.labels {
            let font = if l.bold {
                &self.fonts.bold
            } else {
                &self.fonts.regular
            };
            let scaled = font.as_scaled(PxScale::from(l.size));
            let width = self.width(&l.text, l.size, l.bold);
            let (ascent, descent) = (scaled.ascent(), scaled.descent());
            // (u, v): pixels along the text and down across it, from the anchor; whole
            // pixels, so that every glyph lands on the same grid
            let u0 = match l.along {
                Along::Start => 0.0,
                Along::Middle => (width / 2.0).round(),
                Along::End => width.round(),
            };
            let v0 = ((ascent - descent) / 2.0).round();
            let mut pen = 0.0;
            let mut prev = None;
            for c in l.text.chars() {
                let id = scaled.glyph_id(c);
                if let Some(p) = prev {
                    pen += scaled.kern(p, id);
                }
                let glyph = id.with_scale_and_position(l.size, ab_glyph::point(pen, ascent));
                if let Some(outline) = font.outline_glyph(glyph) {
                    let b = outline.px_bounds();
                    outline.draw(|gx, gy, coverage| {
                        let u = (b.min.x + gx as f32 - u0) as i32;
                        let v = (b.min.y + gy as f32 - v0) as i32;
                        let (x, y) = if l.upright {
                            (l.at.0 + v, l.at.1 - u)
                        } else {
                            (l.at.0 + u, l.at.1 + v)
                        };
                        blend(buf, (w, h), (x, y), l.colour, coverage);
                    });
                }
                pen += scaled.h_advance(id);
                prev = Some(id);
            }
        }
    }
}

fn blend(buf: &mut [u8], (w, h): (u32, u32), (x, y): (i32, i32), c: RGBColor, alpha: f32) {
    if x < 0 || y < 0 || x >= w as i32 || y >= h as i32 {
        return;
    }
    let a = alpha.clamp(0.0, 1.0);
    let k = 3 * (y as usize * w as usize + x as usize);
    for (slot, new) in buf[k..k + 3].iter_mut().zip([c.0, c.1, c.2]) {
        *slot = (*slot as f32 * (1.0 - a) + new as f32 * a).round() as u8;
    }
}

// ---------------------------------------------------------------------------------------------
// Pictures

/// Draws the shapes into an RGB buffer, the labels over them, and writes a PNG file.
fn render(
    path: &Path,
    (w, h): (u32, u32),
    fonts: &Fonts,
    draw: impl FnOnce(&Area<'_>, &mut Labels<'_>) -> Res<()>,
) -> Res<()> {
    let mut buf = vec![0u8; (w * h * 3) as usize];
    let mut text = Labels {
        fonts,
        labels: Vec::new(),
    };
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root, &mut text)?;
        root.present()?;
    }
    text.rasterize(&mut buf, (w, h));
    let mut encoder = png::Encoder::new(BufWriter::new(File::create(path)?), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    encoder.write_header()?.write_image_data(&buf)?;
    Ok(())
}

/// A round step giving about `n` ticks on an interval of length `span`.
fn tick_step(span: f64, n: f64) -> f64 {
    let raw = span / n;
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

/// The multiples of `step` in `[lo, hi]`.
fn ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn draw_heatmap(root: &Area<'_>, text: &mut Labels<'_>, d: &Mat<f64>, settings: &str) -> Res<()> {
    let n = d.nrows();
    let vmax = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| d[(i, j)])
        .fold(0.0_f64, f64::max)
        .max(1e-300);
    let colour = |v: f64| ViridisRGB::get_color_normalized(v as f32, 0.0, vmax as f32);

    text.add(
        Label::new(
            "DSA distance between the quickstart's systems",
            (40, 34),
            26.0,
        )
        .bold(),
    );
    text.add(
        Label::new(
            format!("angular distance in radians; {settings}"),
            (40, 70),
            17.0,
        )
        .colour(GREY),
    );

    // Cells, with the row labels on the left and the column labels below, reading upwards.
    let (cell, x0, y0) = (92, 200, 110);
    for i in 0..n {
        let y = y0 + cell * i as i32;
        text.add(Label::new(NAMES[i], (x0 - 14, y + cell / 2), 18.0).along(Along::End));
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
            text.add(
                Label::new(format!("{v:.3}"), (x + cell / 2, y + cell / 2), 18.0)
                    .colour(ink)
                    .along(Along::Middle),
            );
        }
    }
    let bottom = y0 + cell * n as i32;
    for (j, name) in NAMES.iter().enumerate() {
        text.add(
            Label::new(*name, (x0 + cell * j as i32 + cell / 2, bottom + 12), 18.0)
                .along(Along::End)
                .upright(),
        );
    }
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + cell * n as i32, bottom)],
        INK.stroke_width(1),
    ))?;

    // Colour bar: a column of one-pixel bands from 0 (bottom) to vmax (top), ticks on the right.
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
    for t in ticks(0.0, vmax * (1.0 + 1e-9), step) {
        let y = bottom - (t / vmax * height as f64).round() as i32;
        root.draw(&PathElement::new(
            vec![(bx + bw, y), (bx + bw + 6, y)],
            INK.stroke_width(1),
        ))?;
        text.add(Label::new(format!("{t:.places$}"), (bx + bw + 10, y), 16.0));
    }
    text.add(
        Label::new("DSA distance (rad)", (bx + bw + 68, y0 + height / 2), 16.0)
            .along(Along::Middle)
            .upright(),
    );
    Ok(())
}

/// The MDS map's geometry: equal scales on both axes, so that distances on the page are
/// distances between systems. The plotting area is `MDS_PW` pixels wide and as tall as the
/// points' spread needs (within bounds); both ranges get the same units per pixel.
struct MdsLayout {
    canvas: (u32, u32),
    /// The data at the plotting area's left and top edges.
    x0: f64,
    y1: f64,
    /// Units per pixel.
    per_px: f64,
    /// The plotting area's height in pixels.
    ph: i32,
}

/// Margins of the MDS plotting area, and its width.
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
        MdsLayout {
            canvas: (
                (MDS_LEFT + MDS_PW + MDS_RIGHT) as u32,
                (MDS_TOP + ph.round() as i32 + MDS_BOTTOM) as u32,
            ),
            x0: cx - per_px * pw / 2.0,
            y1: cy + per_px * ph / 2.0,
            per_px,
            ph: ph.round() as i32,
        }
    }

    /// Pixel of a point of the map.
    fn px(&self, (x, y): (f64, f64)) -> (i32, i32) {
        (
            MDS_LEFT + ((x - self.x0) / self.per_px).round() as i32,
            MDS_TOP + ((self.y1 - y) / self.per_px).round() as i32,
        )
    }
}

fn draw_mds(
    root: &Area<'_>,
    text: &mut Labels<'_>,
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

    text.add(
        Label::new(
            "The quickstart's systems, placed by their DSA distances",
            (40, 34),
            26.0,
        )
        .bold(),
    );
    text.add(
        Label::new(
            format!(
                "classical MDS of the DSA distance matrix ({settings}); Kruskal stress {:.2}",
                map.stress
            ),
            (40, 70),
            17.0,
        )
        .colour(GREY),
    );

    // Grid, ticks and the frame.
    let (left, top) = (MDS_LEFT, MDS_TOP);
    let (right, bottom) = (MDS_LEFT + MDS_PW, MDS_TOP + layout.ph);
    let x1 = layout.x0 + layout.per_px * MDS_PW as f64;
    let y0 = layout.y1 - layout.per_px * layout.ph as f64;
    let step = tick_step((x1 - layout.x0).max(layout.y1 - y0), 8.0);
    let places = decimals(step);
    for t in ticks(layout.x0, x1, step) {
        let (x, _) = layout.px((t, 0.0));
        root.draw(&PathElement::new(vec![(x, top), (x, bottom)], LIGHT))?;
        root.draw(&PathElement::new(vec![(x, bottom), (x, bottom + 5)], GREY))?;
        text.add(
            Label::new(format!("{t:.places$}"), (x, bottom + 18), 15.0)
                .colour(GREY)
                .along(Along::Middle),
        );
    }
    for t in ticks(y0, layout.y1, step) {
        let (_, y) = layout.px((0.0, t));
        root.draw(&PathElement::new(vec![(left, y), (right, y)], LIGHT))?;
        root.draw(&PathElement::new(vec![(left - 5, y), (left, y)], GREY))?;
        text.add(
            Label::new(format!("{t:.places$}"), (left - 9, y), 15.0)
                .colour(GREY)
                .along(Along::End),
        );
    }
    root.draw(&Rectangle::new([(left, top), (right, bottom)], GREY))?;
    text.add(
        Label::new(
            format!(
                "MDS axis 1 ({:.0}% of the positive eigenvalues; radians, like the distances)",
                share(0)
            ),
            ((left + right) / 2, bottom + 52),
            17.0,
        )
        .along(Along::Middle),
    );
    text.add(
        Label::new(
            format!("MDS axis 2 ({:.0}%)", share(1)),
            (24, (top + bottom) / 2),
            17.0,
        )
        .along(Along::Middle)
        .upright(),
    );

    // Systems closer than a few pixels share one marker and one label.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let near = groups.iter_mut().find(|g| {
            let (x, y) = xy[g[0]];
            (x - xy[i].0).hypot(y - xy[i].1) < 8.0 * layout.per_px
        });
        match near {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    for g in &groups {
        let (x, y) = layout.px(xy[g[0]]);
        root.draw(&Circle::new((x, y), 9, KIND_COLOUR[KIND[g[0]]].filled()))?;
        root.draw(&Circle::new((x, y), 9, WHITE.stroke_width(2)))?;
        let names: Vec<&str> = g.iter().map(|&i| NAMES[i]).collect();
        let mut label = names.join(" = ");
        if g.len() > 1 {
            label.push_str(&format!(" (distance {:.0e})", d[(g[0], g[1])]));
        }
        text.add(Label::new(label, (x + 16, y), 17.0));
    }

    // Legend, top right: what the colours mean.
    let (lw, lh) = (250, 12 + 24 * KIND_NAME.len() as i32);
    let (lx, ly) = (right - lw - 12, top + 12);
    root.draw(&Rectangle::new(
        [(lx, ly), (lx + lw, ly + lh)],
        WHITE.filled(),
    ))?;
    root.draw(&Rectangle::new([(lx, ly), (lx + lw, ly + lh)], LIGHT))?;
    for (k, name) in KIND_NAME.iter().enumerate() {
        let y = ly + 18 + 24 * k as i32;
        root.draw(&Circle::new((lx + 18, y), 7, KIND_COLOUR[k].filled()))?;
        text.add(Label::new(*name, (lx + 34, y), 15.0));
    }
    Ok(())
}
