/**
 * A failure that another attempt cannot fix (a repository that does not exist, arguments the
 * task cannot use): the job fails at once even when attempts remain. BullMQ recognises such an
 * error by its name, so any error class can be marked.
 */
export function permanent<E extends Error>(error: E): E {
  Object.defineProperty(error, "name", { value: "UnrecoverableError", configurable: true, writable: true });
  return error;
}
