import com.almworks.sqlite4java.SQLiteConnection;
import com.almworks.sqlite4java.SQLiteJob;
import com.almworks.sqlite4java.SQLiteQueue;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import org.eclipse.jetty.server.AbstractNetworkConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import software.amazon.dynamodb.services.local.main.CommandLineInput;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.monitoring.Telemetry;
import software.amazon.dynamodb.services.local.server.AbstractLocalDynamoDBServerHandler;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;
import software.amazon.dynamodb.services.local.shared.access.LocalDBClient;
import software.amazon.dynamodb.services.local.shared.access.sqlite.SQLiteDBAccess;

/**
 * Starts AWS's DynamoDB Local exactly as its own main does (same command line), except that
 * its Jetty connector is bound to 127.0.0.1 before it starts: DynamoDB Local's command line
 * has no bind address and would otherwise listen on every interface.
 *
 * With -Dvnw.accessKeyId (the runtime's key id; any value with -sharedDb), the database that key
 * reaches is opened at once and its SQLite file put in write-ahead-log mode with
 * synchronous=NORMAL: every commit is still written before DynamoDB Local answers, so a
 * killed process loses nothing; only a power cut can lose the last commits. DynamoDB Local's
 * default (a rollback journal, synced on every commit) caps it at a few hundred writes a second
 * on an ordinary disk. If its internals are not as expected it starts untuned, with a warning.
 */
public final class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    String host = System.getProperty("vnw.bindHost", "127.0.0.1");
    CommandLineInput input = new CommandLineInput(args);
    if (!input.init()) return;
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    // Telemetry stays off: the runtime always passes -disableTelemetry.
    Telemetry.configureTelemetry("local", ServerRunner.getSetupMode(input), !input.isDisableTelemetry());
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server jetty = (Server) field.get(proxy);
    Connector[] connectors = jetty.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local built no connector to bind");
    for (Connector c : connectors) {
      if (!(c instanceof AbstractNetworkConnector)) throw new IllegalStateException("unexpected connector " + c);
      ((AbstractNetworkConnector) c).setHost(host);
    }
    proxy.start();
    if (!jetty.isStarted()) System.exit(1);
    String key = System.getProperty("vnw.accessKeyId");
    if (key != null) {
      try {
        System.out.println("DynamoDB Local SQLite: " + tune(proxy, key, System.getProperty("vnw.region", "us-east-1")));
      } catch (Throwable e) {
        System.err.println("DynamoDB Local SQLite left at its defaults (could not tune it: " + e + ")");
      }
    }
    System.out.println("DynamoDB Local listening on " + host);
  }

  private static Object field(Object target, Class<?> owner, String name) throws Exception {
    Field f = owner.getDeclaredField(name);
    f.setAccessible(true);
    return f.get(target);
  }

  private static String tune(DynamoDBProxyServer proxy, String key, String region) throws Exception {
    Object serverHandler = field(proxy, DynamoDBProxyServer.class, "serverHandler");
    Object requests = field(serverHandler, AbstractLocalDynamoDBServerHandler.class, "primaryHandler");
    Method credentials = requests.getClass().getDeclaredMethod("getCredentialsString", String.class, String.class);
    credentials.setAccessible(true);
    Method handler = requests.getClass().getDeclaredMethod("getHandler", String.class);
    handler.setAccessible(true);
    Object client = handler.invoke(requests, credentials.invoke(requests, key, region));
    Object access = field(client, LocalDBClient.class, "dbAccess");
    SQLiteQueue queue = (SQLiteQueue) field(access, SQLiteDBAccess.class, "queue");
    return queue.execute(new SQLiteJob<String>() {
      @Override
      protected String job(SQLiteConnection connection) throws Throwable {
        connection.exec("PRAGMA synchronous=NORMAL");
        var st = connection.prepare("PRAGMA journal_mode=WAL");
        try {
          st.step();
          return "journal_mode=" + st.columnString(0) + ", synchronous=NORMAL";
        } finally {
          st.dispose();
        }
      }
    }).complete();
  }
}
