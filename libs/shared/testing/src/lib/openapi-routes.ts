const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface RouteHookTarget {
  addHook(name: 'onRoute', hook: (route: { method: string | string[]; url: string }) => void): unknown;
}

/**
 * Records the routes an app registers (call before `app.init()`), as "method /path/{param}",
 * without HEAD routes and the /docs routes themselves.
 */
export function recordRoutes(fastify: RouteHookTarget): Set<string> {
  const routes = new Set<string>();
  fastify.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) {
      const route = `${String(m).toLowerCase()} ${r.url.replace(/:(\w+)/g, '{$1}')}`;
      if (!route.startsWith('head ') && !r.url.startsWith('/docs')) routes.add(route);
    }
  });
  return routes;
}

/** The operations an OpenAPI description documents, as "method /path/{param}". */
export function documentedRoutes(spec: Record<string, unknown>): Set<string> {
  const paths = (spec['paths'] ?? {}) as Record<string, Record<string, unknown>>;
  return new Set(Object.entries(paths).flatMap(([path, ops]) => METHODS.filter((m) => m in ops).map((m) => `${m} ${path}`)));
}
