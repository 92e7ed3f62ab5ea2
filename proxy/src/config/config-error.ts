/** A config problem, naming the key (`upstream.queueLength`, `routes[2].path`) and what was expected. */
export type ConfigErrorCode =
  /** The key is not part of the config. */
  | 'UNKNOWN_KEY'
  /** The key was renamed; the message says what to use instead. */
  | 'RENAMED_KEY'
  /** The value has the wrong type or range. */
  | 'INVALID_VALUE'
  /** The config file cannot be read or is not JSON. */
  | 'INVALID_FILE'
  /** A command-line flag is unknown or lacks its value. */
  | 'INVALID_FLAG';

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  /** The offending key path, flag or file. */
  readonly key: string;

  constructor(code: ConfigErrorCode, key: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
    this.key = key;
  }
}
