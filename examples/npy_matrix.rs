//! The DSA distance matrix of systems stored as numpy `.npy` files.
//!
//! ```text
//! cargo run --release --features npy --example npy_matrix -- [options] a.npy b.npy ...
//! ```
//!
//! Each file is one system: shape `(T, N)` (one trajectory, rows are time) or `(K, T, N)` (`K`
//! trials of one system), dtype float64. float32 files are accepted and converted to float64
//! (a note says so); other dtypes are an error. Save from Python with
//! `np.save("a.npy", x.astype(np.float64))`.
//!
//! Options:
//!
//! * `--split`: a `(K, T, N)` file holds `K` *systems* (one trajectory each), not `K` trials;
//! * `--n-delays D`, `--rank R`: DMD settings (default: the crate's defaults, see
//!   `docs/defaults.md`);
//! * `--score angular|euclidean|wasserstein` (default angular);
//! * `--threads K` (default: all cores);
//! * `--csv`: print the matrix as comma-separated values only.
//!
//! With no file, it runs on `tests/fixtures/pairwise_anchor/data.npy` with `--split --n-delays 10
//! --rank 30`: the reference benchmark (20 systems, 190 pairs; about a minute on 2 cores).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use dsa::{Dataset, Dsa, Score};

const USAGE: &str = "usage: npy_matrix [--split] [--n-delays D] [--rank R] [--score angular|euclidean|wasserstein] \
                     [--threads K] [--csv] a.npy b.npy ...";

struct Options {
    files: Vec<PathBuf>,
    split: bool,
    n_delays: Option<usize>,
    rank: Option<usize>,
    score: Score,
    threads: Option<usize>,
    csv: bool,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        files: vec![],
        split: false,
        n_delays: None,
        rank: None,
        score: Score::Angular,
        threads: None,
        csv: false,
    };
    let mut args = std::env::args().skip(1);
    let number = |flag: &str, v: Option<String>| -> Result<usize, String> {
        v.ok_or(format!("{flag} needs a value"))?
            .parse()
            .map_err(|e| format!("{flag}: {e}"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--split" => o.split = true,
            "--csv" => o.csv = true,
            "--n-delays" => o.n_delays = Some(number("--n-delays", args.next())?),
            "--rank" => o.rank = Some(number("--rank", args.next())?),
            "--threads" => o.threads = Some(number("--threads", args.next())?),
            "--score" => {
                o.score = match args.next().as_deref() {
                    Some("angular") => Score::Angular,
                    Some("euclidean") => Score::Euclidean,
                    Some("wasserstein") => Score::Wasserstein,
                    other => {
                        return Err(format!(
                            "--score: expected angular, euclidean or wasserstein, got {other:?}"
                        ))
                    }
                }
            }
            "-h" | "--help" => return Err(String::new()),
            f if f.starts_with("--") => return Err(format!("unknown option {f}")),
            f => o.files.push(PathBuf::from(f)),
        }
    }
    if o.files.is_empty() {
        let anchor =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pairwise_anchor/data.npy");
        eprintln!("{USAGE}");
        eprintln!(
            "no file given: running the reference benchmark {}",
            anchor.display()
        );
        o.files.push(anchor);
        o.split = true;
        o.n_delays.get_or_insert(10);
        o.rank.get_or_insert(30);
    }
    Ok(o)
}

/// Say so when a file is float32 (it is converted to float64 by `read_npy`).
fn note_dtype(path: &Path) {
    let Ok(file) = std::fs::File::open(path) else {
        return;
    };
    if let Ok(npy) = npyz::NpyFile::new(std::io::BufReader::new(file)) {
        if let npyz::DType::Plain(ts) = npy.dtype() {
            if ts.size_field() == 4 {
                eprintln!(
                    "note: {} is float32 ({ts}); its values are converted to float64",
                    path.display()
                );
            }
        }
    }
}

fn run(o: Options) -> dsa::Result<()> {
    let mut names = Vec::new();
    let mut systems: Vec<Dataset> = Vec::new();
    for path in &o.files {
        note_dtype(path);
        let data = dsa::io::read_npy(path)?;
        let stem = path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        if o.split && data.n_trials() > 1 {
            for k in 0..data.n_trials() {
                names.push(format!("{stem}[{k}]"));
                systems.push(Dataset::from_trajectory(data.trial(k))?);
            }
        } else {
            names.push(stem);
            systems.push(data);
        }
    }
    for (name, s) in names.iter().zip(&systems) {
        eprintln!(
            "{name}: {} trial(s) x {} time points x {} channels",
            s.n_trials(),
            s.trial_lens()[0],
            s.n_channels()
        );
    }

    let m = systems.len();
    let total = m * m.saturating_sub(1) / 2;
    let step = (total / 20).max(1);
    let mut builder = Dsa::builder()
        .score(o.score)
        .threads(o.threads)
        .progress(move |p| {
            if p.done % step == 0 || p.done == p.total {
                eprintln!("  {} / {} pairs", p.done, p.total);
            }
            ControlFlow::Continue(())
        });
    if let Some(d) = o.n_delays {
        builder = builder.n_delays(d);
    }
    if let Some(r) = o.rank {
        builder = builder.rank(r);
    }
    let dsa = builder.build()?;
    let ranks: Vec<usize> = dsa
        .fit_all(&systems)?
        .iter()
        .map(|model| model.rank())
        .collect();
    eprintln!("operator sizes (ranks): {ranks:?}");

    let start = Instant::now();
    let d = dsa.pairwise(&systems)?;
    eprintln!(
        "{m} systems, {total} pairs in {:.2?} ({:?} score)",
        start.elapsed(),
        o.score
    );

    if o.csv {
        println!("{}", names.join(","));
        for i in 0..m {
            let row: Vec<String> = (0..m).map(|j| format!("{:.6e}", d[(i, j)])).collect();
            println!("{}", row.join(","));
        }
    } else {
        let width = names.iter().map(String::len).max().unwrap_or(0).max(6);
        print!("{:>width$}", "");
        for j in 0..m {
            print!(" {j:>7}");
        }
        println!();
        for i in 0..m {
            print!("{:>width$}", names[i]);
            for j in 0..m {
                print!(" {:>7.4}", d[(i, j)]);
            }
            println!();
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(o) => o,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("error: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
