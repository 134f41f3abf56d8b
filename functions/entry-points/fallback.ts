import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { jsonLogger } from '../log.js';

/** API Gateway's `$default` route: a JSON 404 for unknown paths, 405 for a known path's wrong method. */
export const handler = lambdaHttpHandler({}, jsonLogger());
