//! The Rust guest SDK for IoM's WASM plugins, ABI v1 (the gateway's `wasm/ABI.md`).
//!
//! Linking this crate into a `cdylib` built for `wasm32-wasi` exports what every ABI v1 module
//! needs: `memory` (the default), `iom_abi_version`, `iom_alloc`, `iom_free` and `_initialize`.
//! The plugin exports its role functions itself, with the `export_*` macros, so a module claims
//! only the roles it implements:
//!
//! ```no_run
//! use iom::{Envelope, Error, Stage, Transformed};
//!
//! iom::export_transform!(apply);
//!
//! fn apply(env: &Envelope) -> iom::Result<Transformed> {
//!     if env.stage != Stage::Request {
//!         return Ok(Transformed::Unchanged); // the host sees "no output"
//!     }
//!     let model = env.body.get("model").and_then(|m| m.str()).unwrap_or_default();
//!     iom::log::info(&format!("request for {}", model));
//!     let temperature = env.body.get("temperature")
//!         .ok_or_else(|| Error::new("the request sets no temperature").with_code("bad_request"))?;
//!     // Everything but the temperature is copied byte for byte.
//!     let body = iom::json::splice(env.body.raw(), temperature, b"0").unwrap();
//!     Ok(Transformed::Body(body))
//! }
//! ```
//!
//! Each role has a handler type and an export macro: [`export_transform!`] and
//! [`export_transform_chunk!`] take a function from [`Envelope`] to [`Transformed`],
//! [`export_adapter!`] two functions from [`ModelCall`] to [`HttpRequest`] and from
//! [`UpstreamResponse`] to a canonical response, [`export_infer!`] a function from
//! [`ModelCall`] to a canonical response, and [`export_describe!`] a [`Description`]. An
//! `Err(Error)` from a handler becomes the ABI's error object. A role the macros do not cover
//! can be written by hand with [`call`].
//!
//! Reading JSON: the input is scanned, not decoded. A [`Value`] is a span of the input, valid
//! until the role function returns; [`json`] has the reader and the writers.
//!
//! Memory: the host writes each input into one buffer that the SDK reuses from call to call,
//! and the output is built in another; once they have grown to the largest input and output
//! seen, the SDK allocates nothing per call. A handler that builds a body can take a spare
//! buffer from [`buffer`]; the SDK keeps the `Vec` of a returned body for the next call.
//!
//! Panics: the `wasm32-wasi` target aborts on a panic (`catch_unwind` catches nothing). The
//! SDK's panic hook writes the message and its location to stderr as one line, then the abort
//! traps: the host fails the call with a `trap` error that quotes the line, and throws the
//! instance away, so a panic ends its call instead of hanging it. Running out of memory aborts
//! the same way; the host reports it as a `memory` error.
//!
//! The crate needs only `std`. Outside a WebAssembly guest the role functions panic and the log
//! goes to stderr, so a plugin's logic can be unit-tested natively through the `*_json`
//! functions ([`transform_json`] and the like).

#![warn(missing_docs)]

pub mod json;
pub mod log;

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

pub use json::{Key, Kind, Value};

/// The ABI version this SDK speaks; the module's `iom_abi_version` returns it.
pub const ABI_VERSION: i32 = 1;

/// Buffers larger than this are given back after use, so one huge call does not pin its
/// memory for the life of the instance.
const KEEP_CAPACITY: usize = 1 << 20;

// The buffers live in thread-locals, which on wasm32 are plain statics: a module runs one
// thread and is never called re-entrantly (ABI.md §3). The RefCells keep the SDK sound in a
// plugin's native, multi-threaded unit tests at the cost of a flag check.
thread_local! {
    // The input: the host calls iom_alloc once per call and never touches the input after the
    // role function returns, so one buffer serves every call.
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    // The output: the host copies it out and calls iom_free before the next call.
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    // A body a handler returned, emptied, for buffer() to hand out again.
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

// ---- ABI exports ---------------------------------------------------------------------------

/// Returns the ABI version, 1.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn iom_abi_version() -> i32 {
    ABI_VERSION
}

/// Returns the SDK's input buffer, grown to at least `size` bytes, or 0 when there is no
/// memory for it (the host then fails the call with a memory error).
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn iom_alloc(size: u32) -> u32 {
    let size = (size as usize).max(1);
    INPUT.with(|input| {
        let mut input = input.borrow_mut();
        if input.len() < size {
            // Let the old buffer go first, so growing never needs both.
            *input = Vec::new();
            let mut grown = Vec::new();
            if grown.try_reserve_exact(size).is_err() {
                return 0;
            }
            grown.resize(size, 0);
            *input = grown;
        }
        input.as_mut_ptr() as usize as u32
    })
}

/// The host is done with an output. The output buffer is reused; only an unusually large one
/// is given back.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn iom_free(ptr: u32, _len: u32) {
    OUTPUT.with(|out| {
        let mut out = out.borrow_mut();
        if ptr == out.as_ptr() as usize as u32 && out.capacity() > KEEP_CAPACITY {
            *out = Vec::new();
        }
    })
}

#[cfg(target_arch = "wasm32")]
extern "C" {
    // Synthesised by the linker: runs the module's static constructors (wasi-libc's).
    fn __wasm_call_ctors();
}

/// The reactor start-up the host calls once per instance: runs the static constructors and
/// sets the SDK's panic hook. Defining it also tells the linker that the module is a reactor,
/// so it does not wrap every export in constructor and destructor calls.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn _initialize() {
    // SAFETY: called once, by the host, before any other export.
    unsafe { __wasm_call_ctors() };
    std::panic::set_hook(Box::new(|info| {
        // One line, which the host quotes in the call's trap error.
        let payload = info.payload();
        let msg = match payload.downcast_ref::<&str>() {
            Some(s) => s,
            None => payload
                .downcast_ref::<String>()
                .map_or("(no message)", |s| s.as_str()),
        };
        match info.location() {
            Some(at) => eprintln!("panic at {}:{}: {}", at.file(), at.line(), msg),
            None => eprintln!("panic: {}", msg),
        }
    }));
}

/// Runs one role call by hand: `f` gets the input document the host wrote and an empty output
/// buffer; what it writes there is the output (nothing: no output). Returns the packed result
/// for the role function to return. The `export_*` macros and the role functions use it; it is
/// here for a role they do not cover.
pub fn call<F: FnOnce(&[u8], &mut Vec<u8>)>(ptr: u32, len: u32, f: F) -> u64 {
    INPUT.with(|input| {
        let input = input.borrow();
        output(|out| {
            if ptr == input.as_ptr() as usize as u32 && (len as usize) <= input.len() {
                f(&input[..len as usize], out);
            } else {
                write_error(
                    out,
                    &Error::new("iom: the input is not where iom_alloc put it").with_code("abi"),
                );
            }
        })
    })
}

/// Has `f` write an output into the SDK's output buffer and returns it packed as the ABI's
/// `(ptr << 32) | len`, 0 when `f` wrote nothing.
fn output<F: FnOnce(&mut Vec<u8>)>(f: F) -> u64 {
    if cfg!(not(target_arch = "wasm32")) {
        panic!(
            "iom: role functions run only in a WebAssembly guest; test with the *_json functions"
        );
    }
    OUTPUT.with(|out| {
        let mut out = out.borrow_mut();
        out.clear();
        f(&mut out);
        if out.is_empty() {
            0
        } else {
            (out.as_ptr() as usize as u64) << 32 | out.len() as u64
        }
    })
}

/// Returns an empty buffer to build a body in: the `Vec` of a body returned on an earlier call,
/// so building one allocates nothing once it has grown.
pub fn buffer() -> Vec<u8> {
    SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

/// Keeps `buf` for [`buffer`] to hand out again (the SDK does so with every returned body).
pub fn recycle(mut buf: Vec<u8>) {
    if buf.capacity() <= KEEP_CAPACITY {
        buf.clear();
        SPARE.with(|s| {
            let mut s = s.borrow_mut();
            if buf.capacity() > s.capacity() {
                *s = buf;
            }
        });
    }
}

// ---- Errors --------------------------------------------------------------------------------

/// A failure, reported to the host as the ABI's error object,
/// `{"error":{"message","code","status"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What went wrong; the gateway quotes it to the client.
    pub message: String,
    /// A short machine-readable word, such as `bad_request`.
    pub code: Option<String>,
    /// The HTTP status the gateway should answer with (100–599); read only from
    /// `iom_adapter_response`.
    pub status: Option<u16>,
}

impl Error {
    /// An error with a message and no code.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            code: None,
            status: None,
        }
    }

    /// Sets the error's code.
    pub fn with_code(mut self, code: impl Into<String>) -> Error {
        self.code = Some(code.into());
        self
    }

    /// Sets the HTTP status (for `iom_adapter_response`).
    pub fn with_status(mut self, status: u16) -> Error {
        self.status = Some(status);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::new(message)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::new(message)
    }
}

/// A handler's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Appends the ABI's error object for `err` to `out`.
pub fn write_error(out: &mut Vec<u8>, err: &Error) {
    out.extend_from_slice(b"{\"error\":{\"message\":");
    json::write_str(out, &err.message);
    if let Some(code) = &err.code {
        out.extend_from_slice(b",\"code\":");
        json::write_str(out, code);
    }
    if let Some(status) = err.status {
        out.extend_from_slice(b",\"status\":");
        json::write_i64(out, status as i64);
    }
    out.extend_from_slice(b"}}");
}

// ---- Inputs --------------------------------------------------------------------------------

fn object(input: &[u8]) -> Result<Value<'_>> {
    let doc = Value::new(input);
    if doc.kind() != Kind::Object {
        return Err(Error::new("iom: the input is not a JSON object").with_code("abi"));
    }
    Ok(doc)
}

fn text(v: Option<Value<'_>>) -> Cow<'_, str> {
    v.and_then(|v| v.str()).unwrap_or_default()
}

/// Which side of a call a transform sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// A request, before it goes upstream.
    Request,
    /// A response, before it goes to the client.
    Response,
    /// A stream chunk (`iom_transform_chunk`).
    Chunk,
    /// A stage this SDK does not know.
    Other,
}

/// A transform's input (`iom_transform` and `iom_transform_chunk`).
#[derive(Clone, Copy, Debug)]
pub struct Envelope<'a> {
    /// Request, response or chunk.
    pub stage: Stage,
    /// The request, response or chunk; `null` when there is none.
    pub body: Value<'a>,
    /// The plugin's config (in a pipeline, the step's); `null` when none.
    pub config: Value<'a>,
    /// What the call is about.
    pub metadata: Metadata<'a>,
    /// The whole input document, for members this SDK does not know.
    pub input: Value<'a>,
}

impl<'a> Envelope<'a> {
    /// Reads a transform's input.
    pub fn parse(input: &'a [u8]) -> Result<Envelope<'a>> {
        let doc = object(input)?;
        let mut env = Envelope {
            stage: Stage::Other,
            body: Value::NULL,
            config: Value::NULL,
            metadata: Metadata { raw: Value::NULL },
            input: doc,
        };
        for (k, v) in doc.members() {
            if k.is("stage") {
                env.stage = if v.is_str("request") {
                    Stage::Request
                } else if v.is_str("response") {
                    Stage::Response
                } else if v.is_str("chunk") {
                    Stage::Chunk
                } else {
                    Stage::Other
                };
            } else if k.is("body") {
                env.body = v;
            } else if k.is("config") {
                env.config = v;
            } else if k.is("metadata") {
                env.metadata = Metadata { raw: v };
            }
        }
        Ok(env)
    }
}

/// A transform's `metadata`, read on demand: each accessor scans the (small) object. Strings
/// that are absent read as "".
#[derive(Clone, Copy, Debug)]
pub struct Metadata<'a> {
    raw: Value<'a>,
}

impl<'a> Metadata<'a> {
    /// The metadata object itself.
    pub fn raw(self) -> Value<'a> {
        self.raw
    }
    /// Any member, including those this SDK has no accessor for.
    pub fn get(self, name: &str) -> Option<Value<'a>> {
        self.raw.get(name)
    }
    /// The call's `x-iom-request-id`.
    pub fn request_id(self) -> Cow<'a, str> {
        text(self.raw.get("requestId"))
    }
    /// The registry id of the model serving the call.
    pub fn model(self) -> Cow<'a, str> {
        text(self.raw.get("model"))
    }
    /// The model's adapter: `openai`, `anthropic`, `wasm:<plugin>`…
    pub fn provider(self) -> Cow<'a, str> {
        text(self.raw.get("provider"))
    }
    /// The name of the caller's gateway key (never the secret).
    pub fn key(self) -> Cow<'a, str> {
        text(self.raw.get("key"))
    }
    /// The key's organisation.
    pub fn org(self) -> Cow<'a, str> {
        text(self.raw.get("org"))
    }
    /// The operation: `chat`, `completion`, `embedding` or `invoke`.
    pub fn op(self) -> Cow<'a, str> {
        text(self.raw.get("op"))
    }
    /// Whether the client asked for a stream.
    pub fn stream(self) -> bool {
        self.raw
            .get("stream")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }
    /// The model's `outputSchema` (a JSON Schema); `None` when it declares none.
    pub fn output_schema(self) -> Option<Value<'a>> {
        self.raw.get("outputSchema")
    }
}

/// The model an adapter or a local model serves.
#[derive(Clone, Debug, Default)]
pub struct Model<'a> {
    /// The model's id in the gateway's registry.
    pub id: Cow<'a, str>,
    /// The upstream's name for it.
    pub upstream_model: Cow<'a, str>,
    /// The model's base URL, such as `http://10.0.0.5:8000/v1`.
    pub endpoint: Cow<'a, str>,
}

impl<'a> Model<'a> {
    fn parse(v: Value<'a>) -> Model<'a> {
        let mut m = Model::default();
        for (k, v) in v.members() {
            if k.is("id") {
                m.id = text(Some(v));
            } else if k.is("upstreamModel") {
                m.upstream_model = text(Some(v));
            } else if k.is("endpoint") {
                m.endpoint = text(Some(v));
            }
        }
        m
    }
}

/// The input of `iom_adapter_request` and `iom_infer`.
#[derive(Clone, Debug)]
pub struct ModelCall<'a> {
    /// `chat`, `completion`, `embedding` or `invoke`.
    pub op: Cow<'a, str>,
    /// The canonical (OpenAI) request.
    pub request: Value<'a>,
    /// The model called.
    pub model: Model<'a>,
    /// The plugin's config; `null` when none.
    pub config: Value<'a>,
    /// The whole input document.
    pub input: Value<'a>,
}

impl<'a> ModelCall<'a> {
    /// Reads the input of `iom_adapter_request` or `iom_infer`.
    pub fn parse(input: &'a [u8]) -> Result<ModelCall<'a>> {
        let doc = object(input)?;
        let mut c = ModelCall {
            op: Cow::Borrowed(""),
            request: Value::NULL,
            model: Model::default(),
            config: Value::NULL,
            input: doc,
        };
        for (k, v) in doc.members() {
            if k.is("op") {
                c.op = text(Some(v));
            } else if k.is("request") {
                c.request = v;
            } else if k.is("model") {
                c.model = Model::parse(v);
            } else if k.is("config") {
                c.config = v;
            }
        }
        Ok(c)
    }
}

/// The input of `iom_adapter_response`: the upstream's answer to the request the adapter
/// built.
#[derive(Clone, Debug)]
pub struct UpstreamResponse<'a> {
    /// `chat`, `completion`, `embedding` or `invoke`.
    pub op: Cow<'a, str>,
    /// The upstream's HTTP status.
    pub status: i64,
    /// The upstream's headers, an object of strings with lower-case names.
    pub headers: Value<'a>,
    /// The upstream's body: as JSON when it parses, else as a JSON string.
    pub body: Value<'a>,
    /// The canonical request, as in `iom_adapter_request`.
    pub request: Value<'a>,
    /// The model called.
    pub model: Model<'a>,
    /// The plugin's config; `null` when none.
    pub config: Value<'a>,
    /// The whole input document.
    pub input: Value<'a>,
}

impl<'a> UpstreamResponse<'a> {
    /// Reads the input of `iom_adapter_response`.
    pub fn parse(input: &'a [u8]) -> Result<UpstreamResponse<'a>> {
        let doc = object(input)?;
        let mut r = UpstreamResponse {
            op: Cow::Borrowed(""),
            status: 0,
            headers: Value::NULL,
            body: Value::NULL,
            request: Value::NULL,
            model: Model::default(),
            config: Value::NULL,
            input: doc,
        };
        for (k, v) in doc.members() {
            if k.is("op") {
                r.op = text(Some(v));
            } else if k.is("status") {
                r.status = v.as_i64().unwrap_or(0);
            } else if k.is("headers") {
                r.headers = v;
            } else if k.is("body") {
                r.body = v;
            } else if k.is("request") {
                r.request = v;
            } else if k.is("model") {
                r.model = Model::parse(v);
            } else if k.is("config") {
                r.config = v;
            }
        }
        Ok(r)
    }

    /// The header `name` (lower case), if the upstream sent it.
    pub fn header(&self, name: &str) -> Option<Cow<'a, str>> {
        self.headers.get(name).and_then(|v| v.str())
    }
}

// ---- Outputs -------------------------------------------------------------------------------

/// A transform's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transformed {
    /// Leave the body as it is (the role returns "no output").
    Unchanged,
    /// The new body: one JSON value, which the SDK does not check.
    Body(Vec<u8>),
    /// Leave this chunk out of the stream; `iom_transform_chunk` only.
    Drop,
}

/// The HTTP request `iom_adapter_request` answers with, for the host to make. Header values may
/// hold `${apiKey}`, which the host replaces with the model's upstream key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method; empty means POST.
    pub method: String,
    /// The URL, `http://` or `https://`.
    pub url: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// A JSON body, sent as it is (Content-Type: application/json unless a header sets one).
    pub body: Option<Vec<u8>>,
    /// A body that is not JSON, sent as it is; used when `body` is `None`.
    pub text: Option<String>,
}

impl HttpRequest {
    /// A POST to `url` with a JSON body.
    pub fn post_json(url: impl Into<String>, body: Vec<u8>) -> HttpRequest {
        HttpRequest {
            url: url.into(),
            body: Some(body),
            ..HttpRequest::default()
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What `iom_describe` answers (shown by the gateway's admin API).
#[derive(Clone, Copy, Debug)]
pub struct Description<'a> {
    /// The plugin's name.
    pub name: &'a str,
    /// The language it is written in.
    pub language: &'a str,
    /// Its roles: `transform`, `transform_chunk`, `adapter`, `infer`.
    pub roles: &'a [&'a str],
    /// Its version.
    pub version: &'a str,
}

fn write_transform<F>(input: &[u8], f: F, out: &mut Vec<u8>)
where
    F: FnOnce(&Envelope<'_>) -> Result<Transformed>,
{
    match Envelope::parse(input).and_then(|env| f(&env)) {
        Ok(Transformed::Unchanged) => {}
        Ok(Transformed::Body(body)) => {
            if body.is_empty() {
                let e = Error::new(
                    "the plugin returned an empty body (Transformed::Unchanged leaves it alone)",
                );
                write_error(out, &e);
                return;
            }
            out.reserve(body.len() + 9);
            out.extend_from_slice(b"{\"body\":");
            out.extend_from_slice(&body);
            out.push(b'}');
            recycle(body);
        }
        Ok(Transformed::Drop) => out.extend_from_slice(b"{\"drop\":true}"),
        Err(e) => write_error(out, &e),
    }
}

fn write_response(resp: Result<Vec<u8>>, out: &mut Vec<u8>) {
    match resp {
        Ok(r) if r.is_empty() => write_error(out, &Error::new("the plugin produced no response")),
        Ok(r) => {
            out.reserve(r.len() + 13);
            out.extend_from_slice(b"{\"response\":");
            out.extend_from_slice(&r);
            out.push(b'}');
        }
        Err(e) => write_error(out, &e),
    }
}

fn write_http_request<F>(input: &[u8], f: F, out: &mut Vec<u8>)
where
    F: FnOnce(&ModelCall<'_>) -> Result<HttpRequest>,
{
    let r = match ModelCall::parse(input).and_then(|c| f(&c)) {
        Ok(r) => r,
        Err(e) => return write_error(out, &e),
    };
    let method = if r.method.is_empty() {
        "POST"
    } else {
        &r.method
    };
    out.extend_from_slice(b"{\"method\":");
    json::write_str(out, method);
    out.extend_from_slice(b",\"url\":");
    json::write_str(out, &r.url);
    out.extend_from_slice(b",\"headers\":{");
    for (i, (k, v)) in r.headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::write_str(out, k);
        out.push(b':');
        json::write_str(out, v);
    }
    out.extend_from_slice(b"},\"body\":");
    match (&r.body, &r.text) {
        (Some(b), _) if !b.is_empty() => out.extend_from_slice(b),
        (_, Some(t)) => json::write_str(out, t),
        _ => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

fn write_description(d: &Description<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"name\":");
    json::write_str(out, d.name);
    out.extend_from_slice(b",\"language\":");
    json::write_str(out, d.language);
    out.extend_from_slice(b",\"roles\":[");
    for (i, r) in d.roles.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::write_str(out, r);
    }
    out.extend_from_slice(b"],\"version\":");
    json::write_str(out, d.version);
    out.push(b'}');
}

// ---- Role functions ------------------------------------------------------------------------

/// Serves `iom_transform` and `iom_transform_chunk`: reads the envelope at `ptr`/`len`, runs
/// `f` and returns the packed output. See [`export_transform!`].
pub fn transform<F>(ptr: u32, len: u32, f: F) -> u64
where
    F: FnOnce(&Envelope<'_>) -> Result<Transformed>,
{
    call(ptr, len, |input, out| write_transform(input, f, out))
}

/// Serves `iom_adapter_request`. See [`export_adapter!`].
pub fn adapter_request<F>(ptr: u32, len: u32, f: F) -> u64
where
    F: FnOnce(&ModelCall<'_>) -> Result<HttpRequest>,
{
    call(ptr, len, |input, out| write_http_request(input, f, out))
}

/// Serves `iom_adapter_response`: `f` returns the canonical response (with `usage`), or an
/// [`Error`] with the HTTP status to answer with. See [`export_adapter!`].
pub fn adapter_response<F>(ptr: u32, len: u32, f: F) -> u64
where
    F: FnOnce(&UpstreamResponse<'_>) -> Result<Vec<u8>>,
{
    call(ptr, len, |input, out| {
        write_response(UpstreamResponse::parse(input).and_then(|r| f(&r)), out)
    })
}

/// Serves `iom_infer`: `f` returns the canonical response (with `usage`). See
/// [`export_infer!`].
pub fn infer<F>(ptr: u32, len: u32, f: F) -> u64
where
    F: FnOnce(&ModelCall<'_>) -> Result<Vec<u8>>,
{
    call(ptr, len, |input, out| {
        write_response(ModelCall::parse(input).and_then(|c| f(&c)), out)
    })
}

/// Serves `iom_describe`. See [`export_describe!`].
pub fn describe(d: &Description<'_>) -> u64 {
    output(|out| write_description(d, out))
}

// The same without the host: input bytes in, the output document out (empty for no output),
// for a plugin's native unit tests.

/// [`transform`] without the host: returns the output document, empty for "unchanged".
pub fn transform_json<F>(input: &[u8], f: F) -> Vec<u8>
where
    F: FnOnce(&Envelope<'_>) -> Result<Transformed>,
{
    let mut out = Vec::new();
    write_transform(input, f, &mut out);
    out
}

/// [`adapter_request`] without the host.
pub fn adapter_request_json<F>(input: &[u8], f: F) -> Vec<u8>
where
    F: FnOnce(&ModelCall<'_>) -> Result<HttpRequest>,
{
    let mut out = Vec::new();
    write_http_request(input, f, &mut out);
    out
}

/// [`adapter_response`] without the host.
pub fn adapter_response_json<F>(input: &[u8], f: F) -> Vec<u8>
where
    F: FnOnce(&UpstreamResponse<'_>) -> Result<Vec<u8>>,
{
    let mut out = Vec::new();
    write_response(UpstreamResponse::parse(input).and_then(|r| f(&r)), &mut out);
    out
}

/// [`infer`] without the host.
pub fn infer_json<F>(input: &[u8], f: F) -> Vec<u8>
where
    F: FnOnce(&ModelCall<'_>) -> Result<Vec<u8>>,
{
    let mut out = Vec::new();
    write_response(ModelCall::parse(input).and_then(|c| f(&c)), &mut out);
    out
}

/// [`describe`] without the host.
pub fn describe_json(d: &Description<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    write_description(d, &mut out);
    out
}

// ---- Export macros -------------------------------------------------------------------------

/// Exports `iom_transform`, served by `handler`, a function (or closure) of type
/// `FnOnce(&Envelope) -> iom::Result<Transformed>`:
///
/// ```no_run
/// iom::export_transform!(|_env: &iom::Envelope| Ok(iom::Transformed::Unchanged));
/// ```
#[macro_export]
macro_rules! export_transform {
    ($handler:expr) => {
        #[no_mangle]
        pub extern "C" fn iom_transform(ptr: u32, len: u32) -> u64 {
            $crate::transform(ptr, len, $handler)
        }
    };
}

/// Exports `iom_transform_chunk`, served by `handler` as in [`export_transform!`]: the
/// envelope's stage is [`Stage::Chunk`], its body one `chat.completion.chunk`, and
/// [`Transformed::Drop`] leaves the chunk out of the stream.
#[macro_export]
macro_rules! export_transform_chunk {
    ($handler:expr) => {
        #[no_mangle]
        pub extern "C" fn iom_transform_chunk(ptr: u32, len: u32) -> u64 {
            $crate::transform(ptr, len, $handler)
        }
    };
}

/// Exports the adapter pair, `iom_adapter_request` served by `request`
/// (`FnOnce(&ModelCall) -> iom::Result<HttpRequest>`) and `iom_adapter_response` served by
/// `response` (`FnOnce(&UpstreamResponse) -> iom::Result<Vec<u8>>`, the canonical response).
#[macro_export]
macro_rules! export_adapter {
    ($request:expr, $response:expr) => {
        #[no_mangle]
        pub extern "C" fn iom_adapter_request(ptr: u32, len: u32) -> u64 {
            $crate::adapter_request(ptr, len, $request)
        }
        #[no_mangle]
        pub extern "C" fn iom_adapter_response(ptr: u32, len: u32) -> u64 {
            $crate::adapter_response(ptr, len, $response)
        }
    };
}

/// Exports `iom_infer`, served by `handler` (`FnOnce(&ModelCall) -> iom::Result<Vec<u8>>`,
/// the canonical response with `usage`).
#[macro_export]
macro_rules! export_infer {
    ($handler:expr) => {
        #[no_mangle]
        pub extern "C" fn iom_infer(ptr: u32, len: u32) -> u64 {
            $crate::infer(ptr, len, $handler)
        }
    };
}

/// Exports `iom_describe`, answering with a [`Description`]:
///
/// ```no_run
/// iom::export_describe!(iom::Description {
///     name: "my-plugin", language: "rust", roles: &["transform"], version: "1.0.0",
/// });
/// ```
#[macro_export]
macro_rules! export_describe {
    ($description:expr) => {
        #[no_mangle]
        pub extern "C" fn iom_describe() -> u64 {
            $crate::describe(&$description)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &[u8] = br#"{"abi":1,"stage":"request","body":{"model":"m","temperature":0.7},"config":null,
        "metadata":{"requestId":"r1","model":"m","provider":"openai","key":"k","org":"o","op":"chat","stream":true}}"#;

    #[test]
    fn transform_outputs() {
        let out = transform_json(ENV, |env| {
            assert_eq!(env.stage, Stage::Request);
            assert!(env.config.is_null());
            assert_eq!(env.metadata.request_id(), "r1");
            assert_eq!(env.metadata.op(), "chat");
            assert!(env.metadata.stream());
            assert!(env.metadata.output_schema().is_none());
            let t = env.body.get("temperature").unwrap();
            Ok(Transformed::Body(
                json::splice(env.body.raw(), t, b"0").unwrap(),
            ))
        });
        assert_eq!(out, br#"{"body":{"model":"m","temperature":0}}"#.to_vec());
        assert!(transform_json(ENV, |_| Ok(Transformed::Unchanged)).is_empty());
        assert_eq!(
            transform_json(ENV, |_| Ok(Transformed::Drop)),
            br#"{"drop":true}"#.to_vec()
        );
        let out = transform_json(
            ENV,
            |_| Err(Error::new("no \"x\"").with_code("bad_request")),
        );
        assert_eq!(
            out,
            br#"{"error":{"message":"no \"x\"","code":"bad_request"}}"#.to_vec()
        );
        let out = transform_json(b"[1]", |_| Ok(Transformed::Unchanged));
        assert!(out.starts_with(br#"{"error":{"message":"iom: the input is not a JSON object""#));
    }

    #[test]
    fn other_roles() {
        let call = br#"{"abi":1,"op":"chat","request":{"messages":[]},"model":{"id":"a","upstreamModel":"b","endpoint":"http://h/v1"},"config":{"x":1}}"#;
        let out = adapter_request_json(call, |c| {
            assert_eq!(c.model.upstream_model, "b");
            Ok(
                HttpRequest::post_json(format!("{}/generate", c.model.endpoint), b"{}".to_vec())
                    .with_header("authorization", "Bearer ${apiKey}"),
            )
        });
        assert_eq!(
            out,
            br#"{"method":"POST","url":"http://h/v1/generate","headers":{"authorization":"Bearer ${apiKey}"},"body":{}}"#.to_vec()
        );
        let resp = br#"{"abi":1,"op":"chat","status":429,"headers":{"retry-after":"2"},"body":"slow down","request":{},"model":{"id":"a"},"config":null}"#;
        let out = adapter_response_json(resp, |r| {
            assert_eq!(r.header("retry-after").unwrap(), "2");
            Err(
                Error::new(format!("upstream said {}", r.body.str().unwrap()))
                    .with_code("upstream_error")
                    .with_status(r.status as u16),
            )
        });
        assert_eq!(out, br#"{"error":{"message":"upstream said slow down","code":"upstream_error","status":429}}"#.to_vec());
        let out = infer_json(call, |c| {
            assert_eq!(c.config.get("x").unwrap().as_i64(), Some(1));
            Ok(br#"{"usage":{"prompt_tokens":1}}"#.to_vec())
        });
        assert_eq!(
            out,
            br#"{"response":{"usage":{"prompt_tokens":1}}}"#.to_vec()
        );
        let d = Description {
            name: "p",
            language: "rust",
            roles: &["transform", "infer"],
            version: "1",
        };
        assert_eq!(
            describe_json(&d),
            br#"{"name":"p","language":"rust","roles":["transform","infer"],"version":"1"}"#
                .to_vec()
        );
    }

    #[test]
    fn spare_buffers() {
        let mut b = buffer();
        b.extend_from_slice(b"[1,2,3]");
        let cap = b.capacity();
        let out = transform_json(ENV, move |_| Ok(Transformed::Body(b)));
        assert_eq!(out, br#"{"body":[1,2,3]}"#.to_vec());
        let again = buffer();
        assert!(again.is_empty() && again.capacity() == cap);
    }
}
