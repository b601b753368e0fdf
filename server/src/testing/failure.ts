import { TRPCClientError } from '@trpc/client';

/** The HTTP status and message of a tRPC call that must fail; throws if it succeeds. */
export async function failure(call: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof TRPCClientError) {
      return { status: (error.data as { httpStatus: number }).httpStatus, message: error.message };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}
