/**
 * The DynamoDB tables, described once: the CDK storage construct and the local
 * runtime's embedded DynamoDB both create them from these definitions.
 *
 * webhooks:   pk NUM#<number>  sk NUM            the number and its owner account (+ webhook counter)
 *             pk NUM#<number>  sk WH#<id>        a webhook (secret and token encrypted)
 *             pk KEY#<key id>  sk KEY            an API key (hash only)
 *             pk SYS#keyring   sk KEYRING        the wrapped data key for secrets at rest (AWS)
 * deliveries: pk WH#<webhook>  sk D#<delivery>   a delivery's state, with its latest attempt inline
 *                                                (TTL: 30 days after last activity)
 *             pk WH#<webhook>  sk A#<delivery>#<generation>#<rung>  a failed (or late) attempt
 *             pk EVT#<event id> sk EVT           an event id's first result (TTL: 24 h)
 */
export interface TableDefinition {
  /** Logical name: the CDK construct id and the local table name. */
  readonly name: "webhooks" | "deliveries";
  readonly partitionKey: "pk";
  readonly sortKey: "sk";
  /** Attribute holding the expiry epoch seconds, or undefined. */
  readonly ttlAttribute?: "expires_at";
}

export const WEBHOOKS_TABLE: TableDefinition = { name: "webhooks", partitionKey: "pk", sortKey: "sk" };
export const DELIVERIES_TABLE: TableDefinition = { name: "deliveries", partitionKey: "pk", sortKey: "sk", ttlAttribute: "expires_at" };
export const TABLES: readonly TableDefinition[] = [WEBHOOKS_TABLE, DELIVERIES_TABLE];
