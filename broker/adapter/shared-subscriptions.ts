// Shared subscriptions `$share/<group>/<filter>` for service accounts (several orchestrator
// workers splitting the status stream). Aedes 1.2.0 has none: it would treat the string as a
// literal topic. Here each group holds one Aedes subscription on <filter> and hands every
// message to one member, round robin. Scope: per broker node. With N clustered nodes a message
// reaches one member on each node that has members (consumers must be idempotent, which
// status ingestion is: docs/protocol.md, a report with a seen `seq` changes nothing).
import type { Aedes, AedesPublishPacket, Client } from 'aedes';
import type { SharedSubscription } from '../acl.js';
import { internals, type DeliverablePacket } from './context.js';

interface Member {
  client: Client;
  qos: 0 | 1 | 2;
}

interface Group {
  filter: string;
  members: Member[];
  next: number;
  deliver: (packet: AedesPublishPacket, done: () => void) => void;
}

export class SharedSubscriptions {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly aedes: Aedes) {}

  private static keyOf(shared: SharedSubscription): string {
    return `${shared.group}\u0000${shared.filter}`;
  }

  add(client: Client, shared: SharedSubscription, qos: number): void {
    const key = SharedSubscriptions.keyOf(shared);
    let group = this.groups.get(key);
    if (!group) {
      const created: Group = { filter: shared.filter, members: [], next: 0, deliver: (packet, done) => this.deliver(created, packet, done) };
      group = created;
      this.groups.set(key, group);
      this.aedes.subscribe(shared.filter, group.deliver, () => undefined);
    }
    const grantedQos = (Math.min(Math.max(qos, 0), 2) as 0 | 1 | 2);
    const member = group.members.find((m) => m.client === client);
    if (member) member.qos = grantedQos;
    else group.members.push({ client, qos: grantedQos });
  }

  remove(client: Client, shared: SharedSubscription): void {
    const key = SharedSubscriptions.keyOf(shared);
    const group = this.groups.get(key);
    if (!group) return;
    group.members = group.members.filter((m) => m.client !== client);
    if (group.members.length === 0) this.dropGroup(key, group);
  }

  removeClient(client: Client): void {
    for (const [key, group] of this.groups) {
      group.members = group.members.filter((m) => m.client !== client);
      if (group.members.length === 0) this.dropGroup(key, group);
    }
  }

  get size(): number {
    return this.groups.size;
  }

  private dropGroup(key: string, group: Group): void {
    this.groups.delete(key);
    this.aedes.unsubscribe(group.filter, group.deliver, () => undefined);
  }

  private deliver(group: Group, packet: AedesPublishPacket, done: () => void): void {
    // [MQTT-4.7.2-1] holds: filters granted here never start with a wildcard, so `$` topics never match.
    for (let tries = group.members.length; tries > 0; tries--) {
      const member = group.members[group.next % group.members.length]!;
      group.next = (group.next + 1) % group.members.length;
      const client = internals(member.client);
      if (client.closed || !client.connected) continue;
      const copy: DeliverablePacket = {
        cmd: 'publish',
        topic: packet.topic,
        payload: packet.payload as Buffer,
        qos: Math.min(packet.qos, member.qos) as 0 | 1 | 2,
        // MQTT 5 §4.8.2: shared subscriptions get no retained flag.
        retain: false,
        dup: false,
        brokerId: packet.brokerId,
        brokerCounter: packet.brokerCounter,
      };
      if (copy.qos > 0) client.deliverQoS(copy, done);
      else client.deliver0(copy, done);
      return;
    }
    done();
  }
}
