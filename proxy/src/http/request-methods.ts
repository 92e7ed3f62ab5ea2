/**
 * The request methods the front passes on to workers. A method token outside this set is refused
 * with 501 (RFC 9110 §9.1), CONNECT with 501 as well (gatewire is not a forward proxy).
 *
 * The set is node's llhttp method list without CONNECT: the front must refuse everything node's
 * parser refuses (test/unit/http/llhttp-differential.test.ts keeps it a subset of `http.METHODS`),
 * and a fixed list keeps case-variants (`get`) and typos away from applications. Methods are
 * case-sensitive (RFC 9110 §9.1).
 */
export const REQUEST_METHODS: ReadonlySet<string> = new Set([
  'ACL',
  'BIND',
  'CHECKOUT',
  'COPY',
  'DELETE',
  'GET',
  'HEAD',
  'LINK',
  'LOCK',
  'M-SEARCH',
  'MERGE',
  'MKACTIVITY',
  'MKCALENDAR',
  'MKCOL',
  'MOVE',
  'NOTIFY',
  'OPTIONS',
  'PATCH',
  'POST',
  'PROPFIND',
  'PROPPATCH',
  'PURGE',
  'PUT',
  'QUERY',
  'REBIND',
  'REPORT',
  'SEARCH',
  'SOURCE',
  'SUBSCRIBE',
  'TRACE',
  'UNBIND',
  'UNLINK',
  'UNLOCK',
  'UNSUBSCRIBE',
]);
