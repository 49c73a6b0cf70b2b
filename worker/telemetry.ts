/**
 * OpenTelemetry tracing for the worker, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: a span per
 * workflow run and per activity (`RunActivity:callModel`, `RunActivity:runTool`, …), joined into
 * one trace by the interceptors of `@temporalio/interceptors-opentelemetry`, exported by OTLP/HTTP.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';

export const SERVICE_NAME = 'longhaul-worker';

export interface Telemetry {
  /** A span around each activity, a child of the workflow's span; log lines get its trace id. */
  activityInterceptors: ActivityInterceptorsFactory[];
  /** How the workflow's spans leave its sandbox. */
  sinks: InjectedSinks<OpenTelemetrySinks>;
  /** Exports the spans not sent yet and stops; call once the worker has stopped. */
  shutdown(): Promise<void>;
}

/**
 * The workflow code always carries the tracing interceptors (worker/bundle.ts), so that one bundle
 * serves workers with and without tracing; without tracing their spans are dropped here.
 */
export const discardWorkflowSpans: InjectedSinks<OpenTelemetrySinks> = { exporter: { export: { fn() {} } } };

/** The standard variable names a base URL; the traces path is appended, as the OTLP spec says. */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Starts tracing to an OTLP/HTTP receiver (JSON encoding). Registers the provider globally: the
 * activities' `trace.getActiveSpan()` needs its async context manager, and the interceptors need
 * its propagator to carry the workflow's span into the activities.
 */
export function startTelemetry({ endpoint }: { endpoint: string }): Telemetry {
  const resource = new Resource({ [ATTR_SERVICE_NAME]: SERVICE_NAME });
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(endpoint) }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  const tracer = provider.getTracer(SERVICE_NAME);
  return {
    activityInterceptors: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
    async shutdown() {
      await provider.shutdown();
      // Unregistered, so that a later start in the same process (tests) registers its own.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Tracing if the environment asks for it, else nothing. */
export function telemetryFromEnv(env: { OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined }): Telemetry | undefined {
  return env.OTEL_EXPORTER_OTLP_ENDPOINT ? startTelemetry({ endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT }) : undefined;
}
