// @prom/client: a TypeScript client for prom (README.md; docs/clients.md in the repository).

export { PromClient } from './client.js';
export { Subscription } from './subscription.js';
export { Watch } from './watch.js';
export {
    PromError,
    BadRequestError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
    MethodNotAllowedError,
    ConflictError,
    GoneError,
    TooLargeError,
    UnsupportedMediaTypeError,
    TooManyError,
    InvalidProjectorError,
    InvalidPayloadError,
    NoProjectorError,
    NotCaughtUpError,
    UnavailableError,
    StorageError,
    NetworkError,
    TimeoutError,
    ProtocolError,
    errorFromBody,
} from './errors.js';
export type * from './types.js';
