/**
 * Template resolution: works out what a template value means in the deployment, intrinsics and all, so
 * that the checks compare deployed state with concrete values (a bucket name, a key ARN) rather than with
 * `Ref`s. Values of resources moto skipped come from moto-types.ts, as the patch wrote them.
 */
import { skippedGetAtt, skippedRef } from './moto-types';
import { getAttParts, type DeployedStack } from './template';

/** Thrown when a template value cannot be worked out from what was deployed. */
export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves CloudFormation intrinsics in a template value to what they mean in the deployment: Ref,
 * Fn::GetAtt (for the types in our templates), Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If with simple
 * conditions, Fn::ImportValue, Fn::GetStackOutput (the app's weak cross-stack references: the producer
 * stack's output, resolved in that stack), Fn::ToJsonString, Fn::Base64, and the pseudo parameters.
 */
export class TemplateResolver {
  private readonly exports = new Map<string, unknown>();

  constructor(private readonly stacks: readonly DeployedStack[]) {
    for (const stack of stacks)
      for (const output of Object.values(stack.template.Outputs ?? {})) {
        if (!output.Export) continue;
        try {
          this.exports.set(String(this.resolve(output.Export.Name, stack)), output.Value);
        } catch {
          // an export we cannot name cannot be imported by us either
        }
      }
  }

  /** The resolved value. @throws UnresolvableError */
  resolve(value: unknown, stack: DeployedStack): unknown {
    const v = this.walk(value, stack);
    return v === NO_VALUE ? undefined : v;
  }

  private walk(value: unknown, stack: DeployedStack): unknown {
    if (Array.isArray(value)) return value.map((v) => this.walk(v, stack)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const [fn, ...rest] = Object.keys(obj);
    if (fn !== undefined && rest.length === 0) {
      const arg = obj[fn];
      switch (fn) {
        case 'Ref':
          return this.ref(String(arg), stack);
        case 'Fn::GetAtt': {
          const parts = getAttParts(arg);
          if (!parts) throw new UnresolvableError(`malformed Fn::GetAtt ${JSON.stringify(arg)}`);
          return this.getAtt(parts[0], parts[1], stack);
        }
        case 'Fn::Join': {
          const [sep, items] = arg as [string, unknown];
          const list = this.walk(items, stack);
          if (!Array.isArray(list)) throw new UnresolvableError('Fn::Join of a non-list');
          return list.map(String).join(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] =
            typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
          const resolvedVars = this.walk(vars, stack) as Record<string, unknown>;
          return text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
            if (name in resolvedVars) return String(resolvedVars[name]);
            const dot = name.indexOf('.');
            return String(
              dot > 0 ? this.getAtt(name.slice(0, dot), name.slice(dot + 1), stack) : this.ref(name, stack),
            );
          });
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          const items = this.walk(list, stack);
          if (!Array.isArray(items)) throw new UnresolvableError('Fn::Select from a non-list');
          return items[Number(this.walk(index, stack))];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, unknown];
          return String(this.walk(text, stack)).split(sep);
        }
        case 'Fn::If': {
          const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
          return this.walk(this.condition(condition, stack) ? whenTrue : whenFalse, stack);
        }
        case 'Fn::ImportValue': {
          const name = String(this.walk(arg, stack));
          const exporter = this.stacks.find((s) =>
            Object.values(s.template.Outputs ?? {}).some(
              (o) => o.Export && this.tryResolve(o.Export.Name, s) === name,
            ),
          );
          if (!exporter || !this.exports.has(name)) throw new UnresolvableError(`no export named ${name}`);
          return this.walk(this.exports.get(name), exporter);
        }
        case 'Fn::GetStackOutput': {
          const { StackName, OutputName } = arg as { StackName?: unknown; OutputName?: unknown };
          const producer = this.stacks.find((s) => s.stackName === StackName);
          const output = producer?.template.Outputs?.[String(OutputName)];
          if (!producer || !output)
            throw new UnresolvableError(`no output ${String(OutputName)} in stack ${String(StackName)}`);
          return this.walk(output.Value, producer);
        }
        case 'Fn::ToJsonString':
          return JSON.stringify(this.walk(arg, stack));
        case 'Fn::Base64':
          return Buffer.from(String(this.walk(arg, stack))).toString('base64');
        case 'Fn::GetAZs':
        case 'Fn::Cidr':
        case 'Fn::FindInMap':
          throw new UnresolvableError(`${fn} is not supported here`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const r = this.walk(v, stack);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private tryResolve(value: unknown, stack: DeployedStack): unknown {
    try {
      return this.resolve(value, stack);
    } catch {
      return undefined;
    }
  }

  private condition(name: string, stack: DeployedStack): boolean {
    const evaluate = (expr: unknown): boolean => {
      const obj = expr as Record<string, unknown>;
      if ('Condition' in obj) return this.condition(String(obj.Condition), stack);
      if ('Fn::Equals' in obj) {
        const [a, b] = obj['Fn::Equals'] as [unknown, unknown];
        return JSON.stringify(this.walk(a, stack)) === JSON.stringify(this.walk(b, stack));
      }
      if ('Fn::Not' in obj) return !evaluate((obj['Fn::Not'] as unknown[])[0]);
      if ('Fn::And' in obj) return (obj['Fn::And'] as unknown[]).every(evaluate);
      if ('Fn::Or' in obj) return (obj['Fn::Or'] as unknown[]).some(evaluate);
      throw new UnresolvableError(`condition ${name}: unsupported expression ${JSON.stringify(expr)}`);
    };
    const expr = stack.template.Conditions?.[name];
    if (expr === undefined) throw new UnresolvableError(`no condition ${name} in ${stack.id}`);
    return evaluate(expr);
  }

  private ref(name: string, stack: DeployedStack): unknown {
    switch (name) {
      case 'AWS::AccountId':
        return stack.account;
      case 'AWS::Region':
        return stack.region;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.stackName;
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const resource = stack.template.Resources[name];
    if (!resource) {
      const param = stack.template.Parameters?.[name];
      if (param?.Default !== undefined) return param.Default;
      throw new UnresolvableError(`Ref to unknown ${name} in ${stack.id}`);
    }
    const physical = stack.physical.get(name);
    if (physical !== undefined) return physical;
    if (stack.skipped.has(name)) return skippedRef(name, resource, stack);
    throw new UnresolvableError(`${name} (${resource.Type}) was not deployed in ${stack.id}`);
  }

  private getAtt(id: string, attr: string, stack: DeployedStack): unknown {
    const resource = stack.template.Resources[id];
    if (!resource) throw new UnresolvableError(`GetAtt on unknown ${id} in ${stack.id}`);
    if (stack.skipped.has(id)) return skippedGetAtt(id, resource, attr, stack);
    const p = stack.physical.get(id);
    if (p === undefined)
      throw new UnresolvableError(`${id} (${resource.Type}) was not deployed in ${stack.id}`);
    const { region: r, account: a } = stack;
    const arns: Record<string, string> = {
      'AWS::KMS::Key': `arn:aws:kms:${r}:${a}:key/${p}`,
      'AWS::S3::Bucket': `arn:aws:s3:::${p}`,
      'AWS::IAM::Role': `arn:aws:iam::${a}:role/${p}`,
      'AWS::IAM::ManagedPolicy': p,
      'AWS::Lambda::Function': `arn:aws:lambda:${r}:${a}:function:${p}`,
      'AWS::Logs::LogGroup': `arn:aws:logs:${r}:${a}:log-group:${p}:*`,
      'AWS::SNS::Topic': p,
      'AWS::SQS::Queue': `arn:aws:sqs:${r}:${a}:${p.split('/').pop() ?? p}`,
      'AWS::DynamoDB::Table': `arn:aws:dynamodb:${r}:${a}:table/${p}`,
      'AWS::Events::Rule': `arn:aws:events:${r}:${a}:rule/${p}`,
    };
    if ((attr === 'Arn' || attr === 'PolicyArn' || attr === 'TopicArn') && arns[resource.Type])
      return arns[resource.Type];
    if (resource.Type === 'AWS::KMS::Key' && attr === 'KeyId') return p;
    if (resource.Type === 'AWS::SNS::Topic' && attr === 'TopicName') return p.split(':').pop();
    // A queue's physical id is its URL.
    if (resource.Type === 'AWS::SQS::Queue' && attr === 'QueueName') return p.split('/').pop();
    if (resource.Type === 'AWS::SQS::Queue' && attr === 'QueueUrl') return p;
    if (resource.Type === 'AWS::S3::Bucket' && attr === 'DomainName') return `${p}.s3.amazonaws.com`;
    if (resource.Type === 'AWS::S3::Bucket' && attr === 'RegionalDomainName')
      return `${p}.s3.${r}.amazonaws.com`;
    throw new UnresolvableError(`GetAtt ${id}.${attr} (${resource.Type}) is not known here`);
  }
}
