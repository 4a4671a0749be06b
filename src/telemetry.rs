//! Logging and tracing set-up: JSON logs to stdout with `instance` as a field (or a readable
//! format for people), and OTLP trace export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! Which format: `LOG_FORMAT` when it says `json` or `pretty`; otherwise the terminal decides
//! ([`LogStyle::for_format`]) — a person who runs `cargo run` reads sentences, while a
//! container, a service manager or a pipe to a log shipper gets one JSON object per line.

use std::fmt;

use alfred_config::LogFormat;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Where and how logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    /// One JSON object per line on stdout (services).
    Json,
    /// Human-readable lines on stdout.
    Pretty,
    /// Human-readable, warnings and errors only, on stderr (the interactive console).
    Console,
}

impl LogStyle {
    /// The style of a server's logs: `format` when `LOG_FORMAT` names one, else pretty when
    /// stdout is a terminal (`stdout_is_terminal`, see [`std::io::IsTerminal`]) and JSON when
    /// it is not. The interactive console chooses [`LogStyle::Console`] itself.
    pub fn for_format(format: LogFormat, stdout_is_terminal: bool) -> LogStyle {
        match format {
            LogFormat::Json => LogStyle::Json,
            LogFormat::Pretty => LogStyle::Pretty,
            LogFormat::Auto if stdout_is_terminal => LogStyle::Pretty,
            LogFormat::Auto => LogStyle::Json,
        }
    }
}

/// Keeps the trace exporter alive; flushes it on drop.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    /// Exports the spans still queued, so the last moments before a stop are traced too.
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(error) = provider.shutdown() {
                tracing::warn!(%error, "Could not export the last traces on shutdown.");
            }
        }
    }
}

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
pub fn init(
    instance: &str,
    style: LogStyle,
    otlp_endpoint: Option<&str>,
) -> anyhow::Result<Telemetry> {
    let default_level = if style == LogStyle::Console {
        "warn"
    } else {
        "info"
    };
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = match style {
        LogStyle::Json => tracing_subscriber::fmt::layer()
            .event_format(WithInstance {
                instance: serde_json::to_string(instance)?,
                inner: tracing_subscriber::fmt::format().json(),
            })
            .fmt_fields(JsonFields::new())
            .with_filter(filter())
            .boxed(),
        LogStyle::Pretty => tracing_subscriber::fmt::layer()
            .with_filter(filter())
            .boxed(),
        LogStyle::Console => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter())
            .boxed(),
    };
    let (provider, traces) = match otlp_endpoint {
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
                .build()?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name("alfred")
                .with_attribute(opentelemetry::KeyValue::new(
                    "alfred.instance",
                    instance.to_owned(),
                ))
                .build();
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource)
                .build();
            let tracer = provider.tracer("alfred");
            let layer = tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(filter())
                .boxed();
            (Some(provider), Some(layer))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()?;
    Ok(Telemetry { provider })
}

/// The JSON event format with an `instance` field added to every line.
struct WithInstance {
    /// The instance as a JSON string literal (quoted and escaped once, at start-up).
    instance: String,
    inner: Format<Json>,
}

impl<S, N> FormatEvent<S, N> for WithInstance
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(writer, "{{\"instance\":{},{rest}", self.instance),
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_pretty_on_a_terminal_and_json_otherwise_unless_log_format_says() {
        assert_eq!(
            LogStyle::for_format(LogFormat::Auto, true),
            LogStyle::Pretty
        );
        assert_eq!(LogStyle::for_format(LogFormat::Auto, false), LogStyle::Json);
        // An explicit setting wins either way.
        assert_eq!(LogStyle::for_format(LogFormat::Json, true), LogStyle::Json);
        assert_eq!(
            LogStyle::for_format(LogFormat::Pretty, false),
            LogStyle::Pretty
        );
    }
}
