// A plain in-process Aedes on port 0 (no auth, no ACL): the metrics test needs real MQTT packets
// on the wire, not the broker's policy, which broker/ tests cover. The device-sim tests' helper.
export { startTestBroker as startPlainBroker, type TestBroker as PlainBroker } from '../../device-sim/support/broker.js';
