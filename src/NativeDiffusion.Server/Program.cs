using NativeDiffusion.Server;

// The NativeDiffusion sample server: the web UI API, the OpenAI Images API and a small page, over the models named in
// configuration (appsettings.json, environment variables, --Key=value arguments). See the README's "Server" section.
var builder = WebApplication.CreateBuilder(args);
builder.AddGenerationServer();
var app = builder.Build();
app.MapGenerationServer();
await app.RunAsync();

/// <summary>The entry point, public for the in-process tests (WebApplicationFactory).</summary>
public partial class Program;
