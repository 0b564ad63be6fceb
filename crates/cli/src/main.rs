//! `ssc`: check a model natively, with the exact pipeline the browser runs.

mod support_page;

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
        that loads and gives the right answer here will do so in the component, and `run` prints \
        exactly the JSON the component returns to Python.\n\n\
        A typical session:\n  \
          ssc inspect model.onnx          # input names, shapes, dtypes; operators; will it load?\n  \
          ssc run model.onnx --config '{\"input\": {\"kind\": \"tensor\", \"shape\": [1, 4], \"data\": [1, 2, 3, 4]}}'\n  \
          ssc run model.onnx --input scan.png --config @request.json\n  \
          ssc bench model.onnx --runs 100\n  \
          ssc support --markdown          # every operator, dtype and setting the engine accepts\n  \
          ssc schema                      # the request, result and error-code formats as JSON Schema\n\n\
        Errors print as `error: [code] message` and exit with status 1; the code is the one \
        Python sees in `result[\"error\"][\"code\"]`."
)]
struct Cli {
    /// Resource limits as JSON, e.g. '{"max_model_bytes": 100000000}'. Fields: max_model_bytes,
    /// max_input_bytes, max_image_pixels, max_tensor_elements; omitted fields keep their defaults.
    #[arg(long, global = true)]
    limits: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Describe a model file as JSON: format, size, sha256, declared inputs and outputs (dims are
    /// numbers or symbols such as "N"), an operator histogram, the operators this engine lacks,
    /// and whether it loads. Works on models that do not load, to show why.
    Inspect {
        /// The model file (ONNX or TFLite; the format is read from the content, not the extension).
        model: PathBuf,
    },
    /// Run the model once and print the result JSON the component returns to Python.
    Run {
        /// The model file.
        model: PathBuf,
        /// The request as JSON, or @path to a JSON file: the same request Python sends. Examples:
        /// '{"input": {"kind": "tensor", "shape": [1, 4], "data": [1, 2, 3, 4]}}';
        /// '{"input": {"kind": "file", "preprocess": {"kind": "csv"}}, "postprocess": {"top_k": 1}}';
        /// several inputs: '{"input": {"kind": "multiple", "inputs": [{"kind": "tensor", "name": "ids", ...}, ...]}}'.
        #[arg(long)]
        config: String,
        /// The file for an input of kind "file" (an image or a CSV), as the person would pick it.
        #[arg(long)]
        input: Option<PathBuf>,
    },
    /// Time model loading and inference; prints JSON with plan-building time and the median, minimum and maximum.
    Bench {
        /// The model file.
        model: PathBuf,
        /// The request to time, as for `run`; default: zeros for every input, with every
        /// symbolic dim set to 1.
        #[arg(long)]
        config: Option<String>,
        /// The input file, for a request of kind "file".
        #[arg(long)]
        input: Option<PathBuf>,
        /// Timed runs, after 3 warm-up runs (the first also builds the plan: `plan_ms`).
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// List what the engine accepts, read from its code: ONNX and ONNX-ML operators, TFLite
    /// builtin operators (loaded or rewritten), input and output dtypes, request settings. JSON
    /// by default.
    Support {
        /// Print the Markdown page docs/supported-models.md instead of JSON.
        #[arg(long)]
        markdown: bool,
    },
    /// Check a request (and --limits) without a model: the engine's rules that need no model
    /// or file. Prints `ok`, or the error as `run` would.
    Check {
        /// The request as JSON, or @path to a JSON file, as for `run`.
        #[arg(long)]
        config: String,
    },
    /// Print the JSON Schema of requests, disclosure policies, limits, results and error codes
    /// (the Python package's schema.json is this output).
    Schema,
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

fn parse_limits(limits: Option<&str>) -> Result<Limits, CliError> {
    match limits {
        Some(text) => serde_json::from_str(text).map_err(|e| CliError::Config(format!("--limits: {e}"))),
        None => Ok(Limits::default()),
    }
}

fn load(model: &PathBuf, limits: Limits, clock: &InstantClock) -> Result<Session, CliError> {
    Ok(Session::load(&read(model)?, None, limits, clock)?)
}

/// Zeros for every input, symbolic dims set to 1: enough to time most models.
fn zeros_request(session: &Session, limits: &Limits) -> Result<RunRequest, CliError> {
    let inputs = session
        .model()
        .inputs()
        .iter()
        .map(|input| {
            let shape: Vec<usize> = input.shape.iter().map(|d| d.parse().unwrap_or(1)).collect();
            // Before allocating: the model may declare an input too big to build.
            let data = vec![0.0; limits.check_tensor(&shape)?];
            Ok(InputSpec::Tensor(NamedTensor { name: Some(input.name.clone()), shape, data, dtype: None }))
        })
        .collect::<Result<_, EngineError>>()?;
    Ok(RunRequest { input: InputSpec::Multiple { inputs }, postprocess: None, disclosure: None })
}

fn print_json<T: Serialize>(value: &T) {
    print_text(&serde_json::to_string_pretty(value).expect("engine DTOs always serialize"));
}

fn print_text(text: &str) {
    use std::io::Write;
    // A closed pipe (`ssc inspect m.onnx | head`) is the reader's choice, not an error.
    let _ = writeln!(std::io::stdout().lock(), "{}", text.trim_end());
}

fn run(cli: Cli) -> Result<(), CliError> {
    let clock = InstantClock::new();
    let limits = parse_limits(cli.limits.as_deref())?;
    match cli.command {
        Command::Inspect { model } => {
            let bytes = read(&model)?;
            let inspection = ssc_engine::inspect(&bytes, &limits)?;
            #[derive(Serialize)]
            struct Load {
                ok: bool,
                #[serde(skip_serializing_if = "Option::is_none")]
                load_ms: Option<f64>,
                #[serde(skip_serializing_if = "Option::is_none")]
                code: Option<&'static str>,
                #[serde(skip_serializing_if = "Option::is_none")]
                message: Option<String>,
                /// tract's own account of a model it cannot prepare: for the developer here,
                /// never sent by the browser engine.
                #[serde(skip_serializing_if = "Option::is_none")]
                detail: Option<String>,
                /// Per input, the dims the model leaves open, as the engine names them: every
                /// request must fix them (a tensor's shape; an image's `preprocess.size` and
                /// one picture per run; a CSV's rows).
                #[serde(skip_serializing_if = "Vec::is_empty")]
                open_dims: Vec<OpenDims>,
            }
            #[derive(Serialize)]
            struct OpenDims {
                input: String,
                dims: Vec<String>,
            }
            let load = match Session::load(&bytes, None, limits, &clock) {
                Ok(session) => {
                    let info = session.info();
                    let open_dims = info
                        .inputs
                        .into_iter()
                        .map(|i| OpenDims {
                            dims: i.shape.into_iter().filter(|d| d.parse::<u64>().is_err()).collect(),
                            input: i.name,
                        })
                        .filter(|o| !o.dims.is_empty())
                        .collect();
                    Load { ok: true, load_ms: Some(info.load_ms), code: None, message: None, detail: None, open_dims }
                }
                Err(e) => Load {
                    ok: false,
                    load_ms: None,
                    code: Some(e.code()),
                    message: Some(e.to_string()),
                    detail: e.detail().map(str::to_string),
                    open_dims: vec![],
                },
            };
            #[derive(Serialize)]
            struct Inspect {
                #[serde(flatten)]
                inspection: ssc_engine::Inspection,
                load: Load,
            }
            print_json(&Inspect { inspection, load });
        }
        Command::Run { model, config, input } => {
            let session = load(&model, limits, &clock)?;
            let request = parse_config(&config)?;
            let file = input.as_ref().map(read).transpose()?;
            print_json(&session.run(&request, file.as_deref(), &clock)?);
        }
        Command::Support { markdown } => {
            let caps = ssc_engine::capabilities();
            if markdown {
                print_text(&support_page::markdown(&caps));
            } else {
                print_json(&caps);
            }
        }
        Command::Schema => print_json(&ssc_engine::schema()),
        Command::Check { config } => {
            limits.validate()?;
            parse_config(&config)?.validate()?;
            print_text("ok");
        }
        Command::Bench { model, config, input, runs } => {
            let session = load(&model, limits, &clock)?;
            let load_ms = session.info().load_ms;
            let request = match config {
                Some(c) => parse_config(&c)?,
                None => zeros_request(&session, &limits)?,
            };
            let file = input.as_ref().map(read).transpose()?;
            // The first run per input shape also builds the optimized plan: reported on its own.
            let first = session.run(&request, file.as_deref(), &clock)?.timings_ms;
            for _ in 0..2 {
                session.run(&request, file.as_deref(), &clock)?;
            }
            let mut times: Vec<f64> = (0..runs.max(1))
                .map(|_| session.run(&request, file.as_deref(), &clock).map(|r| r.timings_ms.inference))
                .collect::<Result<_, _>>()?;
            times.sort_by(f64::total_cmp);
            #[derive(Serialize)]
            struct Bench {
                load_ms: f64,
                plan_ms: f64,
                first_inference_ms: f64,
                runs: usize,
                inference_median_ms: f64,
                inference_min_ms: f64,
                inference_max_ms: f64,
            }
            print_json(&Bench {
                load_ms,
                plan_ms: first.plan,
                first_inference_ms: first.inference,
                runs: times.len(),
                inference_median_ms: times[times.len() / 2],
                inference_min_ms: times[0],
                inference_max_ms: times[times.len() - 1],
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
