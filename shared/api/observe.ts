import type { HttpResult, Route } from '../platform/http.js';

/**
 * Observers of every API response (route template, status, result). Nothing registers one in
 * production; the e2e harness does, to validate each response against the OpenAPI document.
 */
export type ResponseObserver = (route: Route | undefined, status: number, result: HttpResult) => void;
export const responseObservers = new Set<ResponseObserver>();
