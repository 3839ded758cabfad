import { z } from 'zod';
import {
  BatchRequest,
  BatchResponse,
  ConversionEvent,
  CostEvent,
  ErrorResponse,
  IdentifyEvent,
  PrivacyDeleteRequest,
  PrivacyDeleteResponse,
  TouchEvent,
} from '@touchline/contracts';

/**
 * The OpenAPI 3.1 document of the ingest API, generated from the same zod schemas that validate
 * the requests, so the two cannot drift apart.
 */

type JsonSchema = Record<string, unknown>;

function schema(s: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete out.$schema;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (s: unknown) => ({ 'application/json': { schema: s } });

/** zod's superRefine ("needs anonymousId or userId") in JSON Schema terms. */
function person(s: z.ZodType): JsonSchema {
  return { ...schema(s, 'input'), anyOf: [{ required: ['anonymousId'] }, { required: ['userId'] }] };
}

function errorResponse(description: string, headers?: Record<string, unknown>) {
  return { description, content: json(ref('Error')), ...(headers ? { headers } : {}) };
}

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before resending the same request.', schema: { type: 'integer', minimum: 1 } } };

export interface OpenApiOptions {
  maxEvents: number;
  maxBodyBytes: number;
  serverUrl?: string;
}

export function openApiDocument(opts: OpenApiOptions): JsonSchema {
  const eventRef = { oneOf: ['TouchEvent', 'ConversionEvent', 'IdentifyEvent', 'CostEvent'].map(ref), discriminator: { propertyName: 'type' } };
  const batch = schema(BatchRequest, 'input') as { properties: Record<string, JsonSchema> };
  batch.properties.batch = { type: 'array', minItems: 1, maxItems: opts.maxEvents, items: eventRef };
  const writeSecurity = [{ bearer: [] }, { basic: [] }, { writeKeyQuery: [] }];
  const common = {
    '400': errorResponse('Malformed JSON, a body that is not a batch, or every event rejected (then the body is a BatchResponse).'),
    '401': errorResponse('Missing or wrong write key. Nothing was stored.'),
    '413': errorResponse(`More than ${opts.maxEvents} events or ${opts.maxBodyBytes} bytes after decompression. Nothing was stored: split the batch.`),
    '415': errorResponse('A content type or content encoding ingest does not read.'),
    '429': errorResponse('The write key is over its rate limit. Nothing was stored: resend after Retry-After.', retryAfter),
    '503': errorResponse('The event log did not durably accept the events in time. Resend after Retry-After; messageIds make the resend safe.', retryAfter),
  };
  const body = (s: unknown) => ({
    required: true,
    description: 'JSON; may be compressed (Content-Encoding gzip, deflate or br). text/plain is read as JSON too, for navigator.sendBeacon.',
    content: { 'application/json': { schema: s }, 'text/plain': { schema: s } },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Touchline ingest API',
      version: '1',
      description:
        'Touchpoints, conversions, identities and ad spend in. Each event is validated on its own; a 2xx answer means the accepted events are durably in the event log.',
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    paths: {
      '/v1/batch': {
        post: {
          operationId: 'sendBatch',
          summary: 'Send up to a batch of events',
          security: writeSecurity,
          requestBody: body(ref('BatchRequest')),
          responses: {
            '200': { description: 'Accepted events are durable; rejected ones are listed by index with the JSON path and reason.', content: json(ref('BatchResponse')) },
            ...common,
          },
        },
      },
      '/v1/events': {
        post: {
          operationId: 'sendEvent',
          summary: 'Send one event (optionally with sentAt beside its fields)',
          security: writeSecurity,
          requestBody: body(eventRef),
          responses: { '200': { description: 'The event is durable.', content: json(ref('BatchResponse')) }, ...common },
        },
      },
      '/v1/privacy/delete': {
        post: {
          operationId: 'forgetPerson',
          summary: 'Forget a person: drop their future events, delete their rows, retract their credit',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: json(ref('PrivacyDeleteRequest')) },
          responses: {
            '200': { description: 'The person is forgotten.', content: json(ref('PrivacyDeleteResponse')) },
            '400': errorResponse('The request names no one or is malformed.'),
            '401': errorResponse('Missing or non-admin key.'),
            '503': errorResponse('The event log or the warehouse failed; the request is idempotent: resend it.', retryAfter),
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A write key for events, an admin key for privacy requests.' },
        basic: { type: 'http', scheme: 'basic', description: 'The key as the user name, empty password.' },
        writeKeyQuery: { type: 'apiKey', in: 'query', name: 'writeKey', description: 'For navigator.sendBeacon, which cannot send headers. Write keys are public in browsers anyway.' },
      },
      schemas: {
        BatchRequest: batch,
        TouchEvent: person(TouchEvent),
        ConversionEvent: person(ConversionEvent),
        IdentifyEvent: person(IdentifyEvent),
        CostEvent: schema(CostEvent, 'input'),
        BatchResponse: schema(BatchResponse, 'output'),
        PrivacyDeleteRequest: schema(PrivacyDeleteRequest, 'input'),
        PrivacyDeleteResponse: schema(PrivacyDeleteResponse, 'output'),
        Error: schema(ErrorResponse, 'output'),
      },
    },
  };
}
