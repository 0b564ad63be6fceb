//! `ssc`: check a model natively, with the exact pipeline the browser runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;
use ssc_engine::{EngineError, InputSpec, InstantClock, Limits, NamedTensor, RunRequest, Session};

#[derive(Parser)]
#[command(
    name = "ssc",
    version,
    about = "Inspect, run and benchmark a model with the streamlit-secure-context engine, natively.",
    long_about = "Inspect, run and benchmark a model with the streamlit-secure-context engine.\n\n\
        This is the same Rust pipeline that runs in the browser's sandboxed Worker, so a model \
        that loads and gives the right answer here will do so in the component.\n\n\
        Start with `ssc inspect model.onnx` to see the input names and shapes to feed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the model's format, sha256, inputs and outputs as JSON.
    Inspect {
        /// The model file (ONNX).
        model: PathBuf,
    },
    /// Run the model once and print the result JSON the component returns to Python.
    Run {
        /// The model file (ONNX).
        model: PathBuf,
        /// The request as JSON, or @path to a JSON file. Same shape as the component's, e.g.
        /// '{"input": {"kind": "tensor", "shape": [1, 4], "data": [1, 2, 3, 4]}}' or
        /// '{"input": {"kind": "file", "preprocess": {"kind": "csv"}}, "postprocess": {"top_k": 1}}'.
        #[arg(long)]
        config: String,
        /// The input file for a request of kind "file" (an image or a CSV).
        #[arg(long)]
        input: Option<PathBuf>,
    },
    /// Time model loading and inference; prints JSON with the median and minimum.
    Bench {
        /// The model file (ONNX).
        model: PathBuf,
        /// The request to time, as for `run`; default: zeros, with every symbolic dim set to 1.
        #[arg(long)]
        config: Option<String>,
        /// The input file, for a request of kind "file".
        #[arg(long)]
        input: Option<PathBuf>,
        /// Timed runs, after 3 untimed warm-up runs.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
}

/// Failures of the CLI itself (files, arguments), beside the engine's own errors.
#[derive(Debug)]
enum CliError {
    Io(PathBuf, std::io::Error),
    Config(String),
    Engine(EngineError),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            Self::Config(m) => write!(f, "--config: {m}"),
            Self::Engine(e) => write!(f, "[{}] {e}", e.code()),
        }
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        Self::Engine(e)
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Io(path.clone(), e))
}

fn parse_config(config: &str) -> Result<RunRequest, CliError> {
    let text = match config.strip_prefix('@') {
        Some(path) => String::from_utf8(read(&PathBuf::from(path))?).map_err(|e| CliError::Config(e.to_string()))?,
        None => config.to_string(),
    };
    serde_json::from_str(&text).map_err(|e| CliError::Config(e.to_string()))
}

fn load(model: &PathBuf, clock: &InstantClock) -> Result<Session, CliError> {
    Ok(Session::load(&read(model)?, None, Limits::default(), clock)?)
}

/// Zeros for the model's only input, symbolic dims set to 1: enough to time most models.
fn zeros_request(session: &Session) -> Result<RunRequest, CliError> {
    let inputs = session.model().inputs();
    let [input] = inputs else {
        return Err(CliError::Config(format!("the model has {} inputs; pass --config", inputs.len())));
    };
    let shape: Vec<usize> = input.shape.iter().map(|d| d.parse().unwrap_or(1)).collect();
    let data = vec![0.0; shape.iter().product()];
    Ok(RunRequest {
        input: InputSpec::Tensor(NamedTensor { name: None, shape, data }),
        postprocess: None,
        disclosure: None,
    })
}

fn print_json<T: Serialize>(value: &T) {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).expect("engine DTOs always serialize");
    // A closed pipe (`ssc inspect m.onnx | head`) is the reader's choice, not an error.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn run(cli: Cli) -> Result<(), CliError> {
    let clock = InstantClock::new();
    match cli.command {
        Command::Inspect { model } => {
            let bytes = read(&model)?;
            let format = ssc_engine::sniff(&bytes);
            let session = Session::load(&bytes, None, Limits::default(), &clock)?;
            #[derive(Serialize)]
            struct Inspect {
                format: ssc_engine::ModelFormat,
                bytes: usize,
                #[serde(flatten)]
                info: ssc_engine::ModelInfo,
            }
            print_json(&Inspect { format, bytes: bytes.len(), info: session.info() });
        }
        Command::Run { model, config, input } => {
            let session = load(&model, &clock)?;
            let request = parse_config(&config)?;
            let file = input.as_ref().map(read).transpose()?;
            print_json(&session.run(&request, file.as_deref(), &clock)?);
        }
        Command::Bench { model, config, input, runs } => {
            let session = load(&model, &clock)?;
            let load_ms = session.info().load_ms;
            let request = match config {
                Some(c) => parse_config(&c)?,
                None => zeros_request(&session)?,
            };
            let file = input.as_ref().map(read).transpose()?;
            for _ in 0..3 {
                session.run(&request, file.as_deref(), &clock)?;
            }
            let mut times: Vec<f64> = (0..runs.max(1))
                .map(|_| session.run(&request, file.as_deref(), &clock).map(|r| r.timings_ms.inference))
                .collect::<Result<_, _>>()?;
            times.sort_by(f64::total_cmp);
            #[derive(Serialize)]
            struct Bench {
                load_ms: f64,
                runs: usize,
                inference_median_ms: f64,
                inference_min_ms: f64,
            }
            print_json(&Bench {
                load_ms,
                runs: times.len(),
                inference_median_ms: times[times.len() / 2],
                inference_min_ms: times[0],
            });
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
