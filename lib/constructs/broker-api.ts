import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTES, routeKey, type FunctionName } from '../../functions/http/route-table.js';

export interface BrokerApiProps {
  /** The function behind each `fn` of the route table. */
  readonly routeHandlers: Readonly<Record<FunctionName, IFunction>>;
  /** Answers every request no route matches (JSON 404/405). */
  readonly fallback: IFunction;
  /** Steady-state requests per second across the stage. @default 1000 */
  readonly rateLimit?: number;
  /** Burst bucket size. @default 2000 */
  readonly burstLimit?: number;
  /** Browser origins allowed by CORS. @default ['*'] */
  readonly corsOrigins?: string[];
  /** Customer login's own steady-state requests per second. @default 50 */
  readonly loginRateLimit?: number;
  /** Customer login's own burst bucket. @default 50 */
  readonly loginBurstLimit?: number;
  /**
   * API Gateway's own access log, a line per request in a log group of its own. Off by default:
   * every request that reaches a function is logged once already, by the broker's request line
   * (route, status, latency, request id); what only the access log shows are the requests API
   * Gateway answers itself (throttled 429s, CORS preflights), which its metrics count. @default false
   */
  readonly accessLogs?: boolean;
  /** Retention of the access log group, when there is one. @default ONE_MONTH (30 days) */
  readonly logRetention?: RetentionDays;
}

/** The route that costs ~1.4 s of Lambda per request (scrypt), throttled below the stage. */
export const LOGIN_ROUTE_KEY = 'POST /customer/{tenant}/login';
/** The sign-in page's form runs the same scrypt check (contract section 8): the same throttle. */
export const SIGN_IN_ROUTE_KEY = 'POST /oauth/authorize';
/**
 * The federated logins (contract section 10) call an identity provider for up to 5 s each: logins
 * too, throttled alike, so a flood cannot make the broker flood a tenant's provider.
 */
export const FEDERATED_ROUTE_KEYS = ['POST /customer/{tenant}/socialLogin', 'POST /customer/{tenant}/exchangeauthtoken'] as const;
/** Signup (contract section 11): scrypt and a mail per request; resend sends mail too. */
export const SIGNUP_ROUTE_KEYS = ['POST /customer/{tenant}/signup', 'POST /customer/{tenant}/signup/optin/refresh_token'] as const;
/** The routes throttled as logins, each with its own bucket of the login throttle's size. */
export const LOGIN_THROTTLED_ROUTE_KEYS = [LOGIN_ROUTE_KEY, SIGN_IN_ROUTE_KEY, ...FEDERATED_ROUTE_KEYS] as const;
/** The signup routes' own, lower throttle. */
export const DEFAULT_SIGNUP_THROTTLE = { rateLimit: 10, burstLimit: 20 } as const;
/** The stage's default throttle, applied to each route; why these numbers: README, "Deploy". */
export const DEFAULT_STAGE_THROTTLE = { rateLimit: 1000, burstLimit: 2000 } as const;
/** Login throttle defaults; why these numbers: README, "Deploy". */
export const DEFAULT_LOGIN_THROTTLE = { rateLimit: 50, burstLimit: 50 } as const;

/**
 * Access log fields. Never headers or the query string: they carry credentials and tokens
 * (Authorization, `?refresh_token=`, `?accessToken=`).
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  integrationLatency: '$context.integrationLatency',
};

/** The broker is the authorization server: an authorizer in front of it would have to ask it. */
const NO_AUTHORIZER_REASON =
  'OAuth endpoints must be reachable without an API Gateway authorizer: clients authenticate in the ' +
  'function per RFC 6749 (client_secret_basic/post) or with tokens the broker issued, discovery and JWKS ' +
  'are public per RFC 8414, and $default only answers 404/405.';

/** Why the stage has no access log unless the `apiAccessLogs` stack prop asks for one. */
const NO_ACCESS_LOG_REASON =
  'Access logging is a stack property (`apiAccessLogs`), off by default: each request that reaches a function is ' +
  "logged once by the broker's own JSON request line (route, status, latency, request id) in the function's log " +
  'group, so an access log would bill every request twice. Requests API Gateway answers itself (throttling, CORS ' +
  'preflight) are counted by the HTTP API metrics and alarms; turn the access log on to see them one by one.';

/** The HTTP API: one route per entry of the shared route table, plus `$default`. */
export class BrokerApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly routes: HttpRoute[] = [];

  constructor(scope: Construct, id: string, props: BrokerApiProps) {
    super(scope, id);

    // The stage is declared below with throttling and access logs; the automatic one has neither.
    this.api = new HttpApi(this, 'Api', {
      description: 'token-broker',
      createDefaultStage: false,
      // Storefronts call the broker from the browser. Credentials travel in the Authorization
      // header, never in cookies, so allowing any origin exposes nothing a page could not send.
      corsPreflight: {
        allowOrigins: props.corsOrigins ?? ['*'],
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST],
        allowHeaders: ['authorization', 'content-type'],
        exposeHeaders: ['deprecation', 'sunset', 'retry-after'],
        maxAge: Duration.hours(1),
      },
    });

    // One integration per function, shared by all of its routes.
    const integrations = new Map<IFunction, HttpLambdaIntegration>();
    const integrationFor = (fn: IFunction, name: string) => {
      if (!integrations.has(fn)) integrations.set(fn, new HttpLambdaIntegration(`${name}Integration`, fn));
      return integrations.get(fn)!;
    };

    const loginRoutes = new Map<string, HttpRoute>();
    for (const route of ROUTES) {
      // Construct ids may not contain '/'; the id stays stable as long as the route key does.
      const httpRoute = new HttpRoute(this, routeKey(route).replace(/[^A-Za-z0-9]/g, ''), {
        httpApi: this.api,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: integrationFor(props.routeHandlers[route.fn], route.fn),
      });
      this.routes.push(httpRoute);
      if (([...LOGIN_THROTTLED_ROUTE_KEYS, ...SIGNUP_ROUTE_KEYS] as readonly string[]).includes(routeKey(route)))
        loginRoutes.set(routeKey(route), httpRoute);
    }
    this.routes.push(
      new HttpRoute(this, 'DefaultRoute', {
        httpApi: this.api,
        routeKey: HttpRouteKey.DEFAULT,
        integration: integrationFor(props.fallback, 'fallback'),
      }),
    );

    for (const route of this.routes) {
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: NO_AUTHORIZER_REASON });
    }

    for (const key of [...LOGIN_THROTTLED_ROUTE_KEYS, ...SIGNUP_ROUTE_KEYS])
      if (!loginRoutes.has(key)) throw new Error(`the route table has no ${key}`);

    const accessLogs = props.accessLogs
      ? new LogGroup(this, 'AccessLogs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH })
      : undefined;
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.rateLimit ?? DEFAULT_STAGE_THROTTLE.rateLimit,
        burstLimit: props.burstLimit ?? DEFAULT_STAGE_THROTTLE.burstLimit,
      },
      ...(accessLogs && {
        accessLogSettings: {
          destination: new LogGroupLogDestination(accessLogs),
          format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        },
      }),
    });
    if (!accessLogs) {
      Validations.of(this.stage).acknowledge(
        ...(['AwsSolutions-APIG1', 'Serverless-APIGWAccessLogging'] as const).map((id) => ({ id, reason: NO_ACCESS_LOG_REASON })),
      );
    }
    // Route settings override the stage's default throttle for one route key. CloudFormation
    // refuses settings for a route that does not exist yet, hence the explicit dependency.
    const loginThrottle = {
      ThrottlingRateLimit: props.loginRateLimit ?? DEFAULT_LOGIN_THROTTLE.rateLimit,
      ThrottlingBurstLimit: props.loginBurstLimit ?? DEFAULT_LOGIN_THROTTLE.burstLimit,
    };
    const signupThrottle = {
      ThrottlingRateLimit: DEFAULT_SIGNUP_THROTTLE.rateLimit,
      ThrottlingBurstLimit: DEFAULT_SIGNUP_THROTTLE.burstLimit,
    };
    (this.stage.node.defaultChild as CfnStage).routeSettings = Object.fromEntries([
      ...LOGIN_THROTTLED_ROUTE_KEYS.map((key) => [key, { ...loginThrottle }]),
      ...SIGNUP_ROUTE_KEYS.map((key) => [key, { ...signupThrottle }]),
    ]);
    for (const route of loginRoutes.values()) this.stage.node.addDependency(route);
  }
}
