import { type Admin, Kafka, logLevel } from 'kafkajs';

/**
 * One shared kafkajs Admin, connected on first use. After a failure it is dropped and the next use
 * connects afresh, so a broker outage heals without restarting the operator. Retries are kept short:
 * the work queue's backoff, not kafkajs, decides when to try a tenant again.
 */
export interface KafkaAdmin {
  use<T>(work: (admin: Admin) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createKafkaAdmin(brokers: string[], clientId = 'tenantry-operator'): KafkaAdmin {
  const kafka = new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 15_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  let connected: Promise<Admin> | undefined;

  const drop = async () => {
    const current = connected;
    connected = undefined;
    await current?.then((admin) => admin.disconnect()).catch(() => {});
  };

  return {
    async use(work) {
      if (!connected) {
        const admin = kafka.admin();
        connected = admin.connect().then(() => admin);
      }
      try {
        return await work(await connected);
      } catch (error) {
        await drop();
        throw error;
      }
    },
    close: drop,
  };
}
