// The `generic-hmac` provider: the generic forwarder plus an X-Signature HMAC-SHA256 of the body (spec providers/generic-hmac.md).
import { forwarder } from './generic.js';

export const GenericHmacProvider = forwarder('generic-hmac');
