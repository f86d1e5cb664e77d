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
 *   index by_created: pk WH#<webhook>  created_at     every delivery by creation time (only delivery items
 *                                                have created_at), with status, test, event and event_id:
 *                                                serves ?since/?until and recover. The sort key cannot: a
 *                                                delivery id's time part is the event's timestamp when the
 *                                                backend sent an event_id (deliveryIdFor), not created_at.
 */
export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** Non-key attributes copied into the index (projection INCLUDE). */
  readonly attributes: readonly string[];
}
export interface TableDefinition {
  /** Logical name: the CDK construct id and the local table name. */
  readonly name: "webhooks" | "deliveries";
  readonly partitionKey: "pk";
  readonly sortKey: "sk";
  /** Attribute holding the expiry epoch seconds, or undefined. */
  readonly ttlAttribute?: "expires_at";
  /** Global secondary indexes; every key attribute is a string. */
  readonly indexes?: readonly IndexDefinition[];
}

export const WEBHOOKS_TABLE: TableDefinition = { name: "webhooks", partitionKey: "pk", sortKey: "sk" };
export const DELIVERIES_BY_CREATED: IndexDefinition = {
  name: "by_created",
  partitionKey: "pk",
  sortKey: "created_at",
  attributes: ["status", "test", "event", "event_id"],
};
export const DELIVERIES_TABLE: TableDefinition = {
  name: "deliveries",
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expires_at",
  indexes: [DELIVERIES_BY_CREATED],
};
export const TABLES: readonly TableDefinition[] = [WEBHOOKS_TABLE, DELIVERIES_TABLE];
