import { ArnFormat, Names, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Grant, PolicyDocument, PolicyStatement, Role, ServicePrincipal, type IGrantable } from "aws-cdk-lib/aws-iam";
import { CfnScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct, type IConstruct } from "constructs";

export interface RetrySchedulingProps {
  /** Where each retry lands when its time comes: the slow lane's queue (a retry's endpoint is failing). */
  readonly targetQueue: IQueue;
  /** Where Scheduler puts a retry it could not hand to the target queue (the schedules' DeadLetterConfig). */
  readonly deadLetterQueue: IQueue;
}

/**
 * The retry ladder's clock for retries due beyond SQS's 15-minute message timer (nearer ones
 * go onto the queue with DelaySeconds; shared/adapters/aws/sqs-delay-retry-scheduler.ts): a
 * dedicated schedule group that holds one one-time schedule per such retry (created by the
 * worker through shared/adapters/aws/eventbridge-retry-scheduler.ts), and the role EventBridge
 * Scheduler assumes to put the retry on the target queue — the slow lane's (its templated SQS target).
 *
 * The role can do exactly sqs:SendMessage on two queues — the target queue, and the
 * dead-letter queue where Scheduler keeps a retry it could not deliver after its retry policy
 * (24 h, 185 tries). That second permission is what turns "the retry is gone, and only a
 * metric knows" into a message ops can read and redrive. Only Scheduler acting for this group
 * in this account may assume the role (confused-deputy conditions).
 */
export class RetryScheduling extends Construct {
  readonly group: CfnScheduleGroup;
  /** The group's name as a reference (`Ref` answers the name), so users depend on the group. */
  readonly groupName: string;
  /**
   * The name given to the group, as CDK's own ScheduleGroup makes one: from the stack name and
   * construct path, with a hash, ≤ 64 characters of [0-9a-zA-Z-]: unique per stage and stack.
   */
  readonly physicalName: string;
  readonly groupArn: string;
  readonly role: Role;
  /** Every schedule in the group: the names are made per (delivery, attempt) at run time. */
  readonly schedulesArn: string;

  constructor(scope: Construct, id: string, props: RetrySchedulingProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // The group holds every pending retry, and replacing it (a new name does) would delete them:
    // its logical ID is pinned and its name made from the stack and this construct's path, so it
    // only changes if the stack or this construct is renamed. Deleting the stack deletes it with
    // its schedules, which only make sense with this stack's queue.
    this.physicalName = Names.uniqueResourceName(this, { maxLength: 64, separator: "-" });
    this.group = new CfnScheduleGroup(this, "Group", { name: this.physicalName });
    this.group.overrideLogicalId("RetryScheduleGroup");
    this.group.applyRemovalPolicy(RemovalPolicy.DESTROY);
    this.groupName = this.group.ref;
    this.groupArn = this.group.attrArn;

    this.role = new Role(this, "SchedulerRole", {
      description: "Assumed by EventBridge Scheduler to put a webhook retry on the slow-lane delivery queue",
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com").withConditions({
        StringEquals: { "aws:SourceAccount": stack.account, "aws:SourceArn": this.groupArn },
      }),
      inlinePolicies: {
        SendRetryToTargetQueue: new PolicyDocument({
          statements: [new PolicyStatement({ actions: ["sqs:SendMessage"], resources: [props.targetQueue.queueArn, props.deadLetterQueue.queueArn] })],
        }),
      },
    });

    this.schedulesArn = stack.formatArn({
      service: "scheduler",
      resource: "schedule",
      resourceName: `${this.groupName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /** For the worker: create the next attempt's schedule (handing Scheduler the role) and remove one. */
  grantScheduleRetries(grantee: IGrantable & IConstruct): void {
    Grant.addToPrincipal({ grantee, actions: ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"], resourceArns: [this.schedulesArn] });
    this.acknowledgeScheduleWildcard(grantee);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["iam:PassRole"],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
      }),
    );
  }

  /** For the management API: drop pending retries when a webhook is deleted or disabled. */
  grantCancelRetries(grantee: IGrantable & IConstruct): void {
    Grant.addToPrincipal({ grantee, actions: ["scheduler:DeleteSchedule"], resourceArns: [this.schedulesArn] });
    this.acknowledgeScheduleWildcard(grantee);
  }

  /** The one wildcard in the service's policies: "any schedule of our group", since names are made per attempt. */
  private acknowledgeScheduleWildcard(grantee: IConstruct): void {
    Validations.of(grantee).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagFlatten(Stack.of(this).resolve(this.schedulesArn))}]`,
      reason:
        "Retry schedules are named at run time, one per (delivery, attempt), so their ARNs cannot be listed in advance. The wildcard covers only schedules inside this service's dedicated schedule group, and the actions are the named Create/DeleteSchedule (no scheduler:*).",
    });
  }
}

/** A resolved CloudFormation value written the way cdk-nag names it in a finding (`<AWS::Region>`, `<Id.Attr>`). */
function nagFlatten(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === "string") return `<${v.Ref}>`;
    const getAtt = v["Fn::GetAtt"];
    if (Array.isArray(getAtt)) return `<${getAtt.join(".")}>`;
    const join = v["Fn::Join"];
    if (Array.isArray(join) && typeof join[0] === "string" && Array.isArray(join[1])) return (join[1] as unknown[]).map(nagFlatten).join(join[0]);
  }
  return JSON.stringify(value);
}
