/** Minimal assertions (JSR's @std/assert is not reachable here). */
import { AssertionError, deepStrictEqual } from "node:assert";

export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError({ message });
}

export function assertEquals<T>(actual: T, expected: T, message?: string) {
  deepStrictEqual(actual, expected, message);
}

export function assertBytesEqual(
  actual: Uint8Array,
  expected: Uint8Array,
  message = "bytes differ",
) {
  if (actual.length !== expected.length) {
    throw new AssertionError({
      message: `${message}: length ${actual.length} != ${expected.length}`,
    });
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new AssertionError({ message: `${message}: first difference at byte ${i}` });
    }
  }
}

export function assertMatch(actual: string, pattern: RegExp, message?: string) {
  if (!pattern.test(actual)) {
    throw new AssertionError({
      message: message ?? `${JSON.stringify(actual)} does not match ${pattern}`,
    });
  }
}

export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  errorClass: new (...args: never[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    if (!(error instanceof errorClass)) {
      throw new AssertionError({
        message: `expected ${errorClass.name}, got ${
          (error as Error)?.constructor?.name
        }: ${error}`,
      });
    }
    if (includes && !error.message.includes(includes)) {
      throw new AssertionError({ message: `"${error.message}" does not include "${includes}"` });
    }
    return error;
  }
  throw new AssertionError({ message: `expected ${errorClass.name} to be thrown` });
}

export function assertThrows<E extends Error>(
  fn: () => unknown,
  errorClass: new (...args: never[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof errorClass)) {
      throw new AssertionError({
        message: `expected ${errorClass.name}, got ${
          (error as Error)?.constructor?.name
        }: ${error}`,
      });
    }
    if (includes && !error.message.includes(includes)) {
      throw new AssertionError({ message: `"${error.message}" does not include "${includes}"` });
    }
    return error;
  }
  throw new AssertionError({ message: `expected ${errorClass.name} to be thrown` });
}
