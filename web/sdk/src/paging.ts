import type { Page } from './types.js';

/** Fetches the page a `nextPageUrl` names. */
export type PageFetcher<T> = (url: string) => Promise<Page<T>>;

/**
 * Walks a Spaces list by its `nextPageUrl` links, a page at a time: the listing's
 * `pageToken` cursor, history's `nextRefObjId`, members' `page` numbers alike. The
 * server's link is followed as given, so filters stay whatever the first call asked.
 *
 * `next()` answers the next page's items, or `[]` once the list is exhausted; it is
 * safe to call again while a call is in flight (both get the same page), which is what
 * an infinite-scroll sentinel firing twice does.
 */
export class Pager<T> {
  private nextUrl: string | null | undefined;
  private inFlight: Promise<T[]> | null = null;
  private readonly first: () => Promise<Page<T>>;
  private readonly follow: PageFetcher<T>;
  /** Every page's `total`, in order (for display). */
  readonly pagesSeen: number[] = [];

  constructor(first: () => Promise<Page<T>>, follow: PageFetcher<T>) {
    this.first = first;
    this.follow = follow;
    this.nextUrl = undefined;
  }

  /** True once a page came back without a `nextPageUrl` (or empty). */
  get done(): boolean {
    return this.nextUrl === null;
  }

  next(): Promise<T[]> {
    if (this.inFlight) return this.inFlight;
    if (this.nextUrl === null) return Promise.resolve([]);
    const load = this.nextUrl === undefined ? this.first() : this.follow(this.nextUrl);
    this.inFlight = load
      .then((page) => {
        const data = Array.isArray(page.data) ? page.data : [];
        this.pagesSeen.push(data.length);
        const link = typeof page.nextPageUrl === 'string' ? page.nextPageUrl.trim() : '';
        this.nextUrl = link && data.length > 0 ? link : null;
        return data;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  /** Every remaining item, page by page. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    while (!this.done) {
      const items = await this.next();
      for (const item of items) yield item;
    }
  }

  /** Up to `limit` remaining items as one array. */
  async collect(limit = Infinity): Promise<T[]> {
    const all: T[] = [];
    for await (const item of this) {
      all.push(item);
      if (all.length >= limit) break;
    }
    return all;
  }
}

/**
 * The path and query of a page link. The server makes some links absolute (from its
 * `Host`, which behind a proxy is not the browser's), others server-relative; either
 * way the client's own base URL is used.
 */
export function linkPath(url: string): string {
  if (/^https?:\/\//i.test(url)) {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  }
  return url.startsWith('/') ? url : `/${url}`;
}
