/**
 * The platform's (undici's) Request, Response and fetch, captured when this module is first
 * evaluated, before web-globals.ts may replace the globals with their fast variants.
 */
export const NativeRequest: typeof Request = globalThis.Request;
export const NativeResponse: typeof Response = globalThis.Response;
export const nativeFetch: typeof fetch = globalThis.fetch;

/**
 * A lightweight web object turns itself into the platform object through this method (used where
 * only a real undici object will do: `new Request(light)`, `fetch(light)`). A registered symbol,
 * so that two copies of this package in one process still understand each other's objects.
 */
export const MATERIALIZE: unique symbol = Symbol.for('gatewire.worker.materialize') as never;

/** Whether `value` is a platform Request or Response, or one of our light ones (same prototype chain). */
export function isNativeRequest(value: unknown): value is Request {
  return Function.prototype[Symbol.hasInstance].call(NativeRequest, value);
}

export function isNativeResponse(value: unknown): value is Response {
  return Function.prototype[Symbol.hasInstance].call(NativeResponse, value);
}

/**
 * Defines, on a light class's prototype, every member of the platform prototype that the class
 * does not define itself: getters read the materialized object's property, methods call its method.
 * This keeps `instanceof` true and every web feature working, at the price of a materialization
 * the first time an uncommon member is used.
 */
export function delegateRemainingMembers(lightPrototype: object, nativePrototype: object): void {
  for (const key of Reflect.ownKeys(nativePrototype)) {
    if (key === 'constructor' || Object.prototype.hasOwnProperty.call(lightPrototype, key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(nativePrototype, key)!;
    if (descriptor.get !== undefined) {
      Object.defineProperty(lightPrototype, key, {
        configurable: true,
        enumerable: descriptor.enumerable ?? false,
        get(this: { [MATERIALIZE](): object }) {
          return Reflect.get(this[MATERIALIZE](), key);
        },
      });
    } else if (typeof descriptor.value === 'function') {
      Object.defineProperty(lightPrototype, key, {
        configurable: true,
        enumerable: descriptor.enumerable ?? false,
        writable: true,
        value(
          this: { [MATERIALIZE](): Record<PropertyKey, (...args: unknown[]) => unknown> },
          ...args: unknown[]
        ) {
          const target = this[MATERIALIZE]();
          return target[key as string](...args);
        },
      });
    }
  }
}
