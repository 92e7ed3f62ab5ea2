/** @gatewire/proxy: the HTTP edge server that fronts gatewire workers. */
export type {
  RequestHead,
  ConnectionInfo,
  AbortReason,
  Exchange,
  ExchangeHandler,
  Dispatcher,
  ExchangeRecord,
  ExchangeObserver,
} from './http/exchange.js';
