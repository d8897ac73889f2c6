// GET /v1/openapi.json: the OpenAPI document @fastify/swagger builds from the route schemas. Public.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';

export const openapiRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  app.get('/openapi.json', { schema: { operationId: 'getOpenApiDocument', summary: 'This OpenAPI 3.1 document (Swagger UI at /v1/docs/)', tags: ['meta'], response: { 200: { type: 'object', additionalProperties: true } } } }, async () => app.swagger());
};
