import java.lang.reflect.Field;
import org.eclipse.jetty.server.AbstractNetworkConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import software.amazon.dynamodb.services.local.main.CommandLineInput;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.monitoring.Telemetry;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Starts AWS's DynamoDB Local exactly as its own main does (same command line), except that
 * its Jetty connector is bound to 127.0.0.1 before it starts: DynamoDB Local's command line
 * has no bind address and would otherwise listen on every interface.
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
    System.out.println("DynamoDB Local listening on " + host);
  }
}
