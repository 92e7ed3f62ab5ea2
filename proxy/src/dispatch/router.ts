/**
 * Picks a route for a request by host, then by path prefix, the way nginx picks a server block and
 * then a location: routes naming the exact host win, then the longest matching `*.example.com`
 * wildcard, then routes without a host. Within the chosen host, the longest path prefix wins; when
 * none matches there is no route (no fall-through to another host's routes).
 *
 * Prefixes match the raw path (percent-encoding intact) byte for byte, on segment boundaries, as
 * users expect from nginx's `location /static/`: `/static` and `/static/` both match `/static` and
 * `/static/app.css`, and neither matches `/staticfoo`.
 */
export interface RouteSpec<T> {
  /** Exact host (`api.example.com`), wildcard (`*.example.com`), or undefined for any host. */
  readonly host?: string;
  /** Path prefix, e.g. `/` or `/static/`. */
  readonly path: string;
  readonly target: T;
}

export interface RouteMatch<T> {
  readonly target: T;
  /** The route's path as configured. */
  readonly prefix: string;
  /** The prefix without trailing slashes ('' for `/`): the request path is `base`, or `base/…`. */
  readonly base: string;
}

class Route<T> implements RouteMatch<T> {
  /** `base` + '/': what a longer path must start with. */
  readonly below: string;

  constructor(
    readonly prefix: string,
    readonly base: string,
    readonly target: T,
  ) {
    this.below = `${base}/`;
  }
}

/** The part of `path` below a matched route: '' for the route's own path, else without the leading '/'. */
export function pathBelow(match: RouteMatch<unknown>, path: string): string {
  return path.slice(match.base.length + 1);
}

class HostRoutes<T> {
  /** Longest base first. */
  readonly routes: Array<Route<T>> = [];

  add(prefix: string, target: T): void {
    this.routes.push(new Route(prefix, prefix.replace(/\/+$/, ''), target));
    this.routes.sort((a, b) => b.base.length - a.base.length);
  }

  match(path: string): RouteMatch<T> | null {
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i];
      // A segment boundary: the whole path, or the prefix followed by '/'.
      if (path.startsWith(route.below) || path === route.base) return route;
    }
    return null;
  }
}

export class Router<T> {
  readonly #exact = new Map<string, HostRoutes<T>>();
  /** [suffix with the dot, routes], longest suffix first. */
  readonly #wildcards: Array<[string, HostRoutes<T>]> = [];
  readonly #any = new HostRoutes<T>();

  constructor(specs: ReadonlyArray<RouteSpec<T>>) {
    for (const spec of specs) this.#hostRoutes(spec.host).add(spec.path, spec.target);
    this.#wildcards.sort((a, b) => b[0].length - a[0].length);
  }

  #hostRoutes(host: string | undefined): HostRoutes<T> {
    if (host === undefined || host === '' || host === '*') return this.#any;
    const name = host.toLowerCase();
    if (name.startsWith('*.')) {
      const suffix = name.slice(1);
      let entry = this.#wildcards.find(([known]) => known === suffix);
      if (entry === undefined) {
        entry = [suffix, new HostRoutes<T>()];
        this.#wildcards.push(entry);
      }
      return entry[1];
    }
    let routes = this.#exact.get(name);
    if (routes === undefined) {
      routes = new HostRoutes<T>();
      this.#exact.set(name, routes);
    }
    return routes;
  }

  /** `serverName` is the request's host, lowercased, without port. */
  match(serverName: string, path: string): RouteMatch<T> | null {
    const exact = this.#exact.get(serverName);
    if (exact !== undefined) return exact.match(path);
    for (const [suffix, routes] of this.#wildcards) {
      if (serverName.length > suffix.length && serverName.endsWith(suffix)) return routes.match(path);
    }
    return this.#any.match(path);
  }
}
