/** The part of a pino logger this package uses; a service passes its own (or a child of it). */
export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
