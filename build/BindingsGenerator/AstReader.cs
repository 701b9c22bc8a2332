using System.Globalization;
using System.Text.Json;

namespace NativeDiffusion.BindingsGenerator;

/// <summary>
/// Turns clang's JSON AST of the header into a <see cref="HeaderModel"/>. Only declarations located in
/// the header itself are read; anything in them the bindings cannot represent faithfully is reported
/// to <see cref="Diagnostics"/> rather than guessed.
/// </summary>
internal sealed class AstReader(string headerPath, byte[] headerBytes, Diagnostics diagnostics)
{
    private readonly string _headerPath = Path.GetFullPath(headerPath);

    // Tag declarations (enum/struct), by AST id: a forward declaration and its definition share one entry.
    private readonly Dictionary<string, TagInfo> _tagsById = [];
    private readonly List<(int Order, HeaderDeclaration Declaration)> _declarations = [];
    private readonly Dictionary<string, HeaderDeclaration> _typeNames = [];
    private readonly HashSet<string> _refusedIds = []; // already reported: their typedefs are not reported again

    private sealed class TagInfo(string? tagName, bool isEnum, int order, int line)
    {
        public string? TagName { get; } = tagName;
        public bool IsEnum { get; } = isEnum;
        public int Order { get; set; } = order;
        public int Line { get; set; } = line;
        public string? TypedefName { get; set; }
        public string? Doc { get; set; }
        public string? TypedefDoc { get; set; }
        public JsonElement? Definition { get; set; }
        public string CName => TypedefName ?? TagName ?? "(anonymous)";
    }

    public (IReadOnlyList<HeaderDeclaration> Declarations, IReadOnlyDictionary<string, HeaderDeclaration> TypeNames) Read(string astJson)
    {
        using var document = JsonDocument.Parse(astJson, new JsonDocumentOptions { MaxDepth = 4096 });
        var order = 0;
        foreach (var (node, line) in HeaderNodes(document.RootElement))
        {
            ReadTopLevel(node, line, order++);
        }
        foreach (var tag in _tagsById.Values.Distinct())
        {
            AddTag(tag);
        }
        var declarations = _declarations.OrderBy(d => d.Order).Select(d => d.Declaration).ToList();
        return (declarations, _typeNames);
    }

    /// <summary>
    /// The top-level nodes whose location is in the header, with their line. The JSON dump writes a
    /// location's "file" (and "line") only when it differs from the previously written location, so the
    /// whole document is walked in order to know which file every node is in.
    /// </summary>
    private IEnumerable<(JsonElement Node, int Line)> HeaderNodes(JsonElement root)
    {
        var tracker = new LocationTracker();
        var results = new List<(JsonElement, int)>();
        foreach (var node in root.GetProperty("inner").EnumerateArray())
        {
            string? file = null;
            var line = 0;
            foreach (var property in node.EnumerateObject())
            {
                tracker.Walk(property.Value);
                if (property.NameEquals("loc") && LocationTracker.IsValid(property.Value))
                {
                    (file, line) = (tracker.File, tracker.Line);
                }
            }
            if (file is not null && string.Equals(Path.GetFullPath(file), _headerPath, StringComparison.Ordinal))
            {
                results.Add((node, line));
            }
        }
        return results;
    }

    private void ReadTopLevel(JsonElement node, int line, int order)
    {
        var kind = node.GetProperty("kind").GetString();
        var name = StringProperty(node, "name");
        switch (kind)
        {
            case "EnumDecl":
                ReadTag(node, name, isEnum: true, line, order);
                break;
            case "RecordDecl" when StringProperty(node, "tagUsed") == "struct":
                ReadTag(node, name, isEnum: false, line, order);
                break;
            case "RecordDecl":
                _refusedIds.Add(node.GetProperty("id").GetString()!);
                diagnostics.Fail(line, name ?? "(anonymous)",
                                 $"{StringProperty(node, "tagUsed")} declarations are not supported");
                break;
            case "TypedefDecl":
                ReadTypedef(node, name!, line, order);
                break;
            case "FunctionDecl":
                ReadFunction(node, name!, line, order);
                break;
            default:
                diagnostics.Fail(line, name ?? "(unnamed)", $"a top-level {kind} is not supported");
                break;
        }
    }

    private void ReadTag(JsonElement node, string? name, bool isEnum, int line, int order)
    {
        var id = node.GetProperty("id").GetString()!;
        var previous = StringProperty(node, "previousDecl");
        if (previous is null || !_tagsById.TryGetValue(previous, out var tag))
        {
            tag = new TagInfo(name, isEnum, order, line);
        }
        _tagsById[id] = tag;
        tag.Doc ??= DocOf(node);

        var isDefinition = isEnum ? node.TryGetProperty("inner", out _) : HasTrueProperty(node, "completeDefinition");
        if (isDefinition)
        {
            // The declaration appears where the type is defined.
            tag.Definition = node;
            tag.Order = order;
            tag.Line = line;
        }
    }

    private void ReadTypedef(JsonElement node, string name, int line, int order)
    {
        var doc = DocOf(node);
        var typeNode = FirstInner(node);
        var qualType = node.GetProperty("type").GetProperty("qualType").GetString()!;
        if (typeNode is null)
        {
            diagnostics.Fail(line, name, $"typedef of '{qualType}' has no type information in the AST");
            return;
        }

        var typeKind = StringProperty(typeNode.Value, "kind");
        var tagId = TagIdOf(typeNode.Value);
        if (tagId is not null)
        {
            if (_refusedIds.Contains(tagId))
            {
                return;
            }
            if (!_tagsById.TryGetValue(tagId, out var tag))
            {
                diagnostics.Fail(line, name, $"typedef of '{qualType}', which is not declared in the header");
                return;
            }
            if (tag.TypedefName is not null && tag.TypedefName != name)
            {
                diagnostics.Fail(line, name, $"'{qualType}' already has the typedef {tag.TypedefName}");
                return;
            }
            tag.TypedefName = name;
            tag.TypedefDoc ??= doc;
            return;
        }

        switch (typeKind)
        {
            case "PointerType":
                var function = SkipParens(FirstInner(typeNode.Value));
                if (function is null || StringProperty(function.Value, "kind") != "FunctionProtoType")
                {
                    diagnostics.Fail(line, name, $"typedef of the pointer type '{qualType}' is not supported");
                    return;
                }
                ReadCallback(function.Value, name, doc, line, order);
                return;
            case "BuiltinType" or "TypedefType" or "ElaboratedType":
                var target = Parse(qualType, line, name);
                if (target is not null)
                {
                    Add(order, new AliasDeclaration(name, line, doc, target), name);
                }
                return;
            default:
                diagnostics.Fail(line, name, $"typedef of '{qualType}' ({typeKind}) is not supported");
                return;
        }
    }

    private void ReadCallback(JsonElement function, string name, string? doc, int line, int order)
    {
        if (HasTrueProperty(function, "variadic"))
        {
            diagnostics.Fail(line, name, "variadic function pointer types are not supported");
            return;
        }
        var callingConvention = StringProperty(function, "cc");
        if (callingConvention is not null && callingConvention != "cdecl")
        {
            diagnostics.Fail(line, name, $"calling convention '{callingConvention}' is not supported (only cdecl)");
            return;
        }

        var types = Inner(function)
            .Select(t => Parse(t.GetProperty("type").GetProperty("qualType").GetString()!, line, name))
            .ToList();
        if (types.Count == 0 || types.Any(t => t is null))
        {
            return;
        }
        Add(order, new CallbackDeclaration(name, line, doc, types[0]!, types.Skip(1).Select(t => t!).ToList()), name);
    }

    private void ReadFunction(JsonElement node, string name, int line, int order)
    {
        var qualType = node.GetProperty("type").GetProperty("qualType").GetString()!;
        if (HasTrueProperty(node, "variadic"))
        {
            diagnostics.Fail(line, name, "variadic functions are not supported");
            return;
        }
        if (StringProperty(node, "storageClass") == "static" || HasTrueProperty(node, "inline"))
        {
            diagnostics.Fail(line, name, "static or inline functions cannot be bound (nothing is exported)");
            return;
        }

        var parameters = new List<FunctionParameter>();
        var exported = false;
        foreach (var child in Inner(node))
        {
            switch (StringProperty(child, "kind"))
            {
                case "ParmVarDecl":
                    var parameterName = StringProperty(child, "name");
                    var parameterType = child.GetProperty("type").GetProperty("qualType").GetString()!;
                    if (parameterName is null)
                    {
                        diagnostics.Fail(line, name, $"parameter {parameters.Count + 1} ('{parameterType}') has no name");
                        return;
                    }
                    var type = Parse(parameterType, line, $"{name}({parameterName})");
                    if (type is null)
                    {
                        return;
                    }
                    parameters.Add(new FunctionParameter(parameterName, type));
                    break;
                case "VisibilityAttr" or "DLLExportAttr" or "DLLImportAttr":
                    exported = true;
                    break;
                case "FullComment":
                    break;
                case "CompoundStmt":
                    diagnostics.Fail(line, name, "functions with a body cannot be bound");
                    return;
                default:
                    diagnostics.Fail(line, name, $"{StringProperty(child, "kind")} on a function is not supported");
                    return;
            }
        }
        if (!exported)
        {
            diagnostics.Fail(line, name, "is not declared with ND_API, so the library would not export it");
            return;
        }

        var returnSpelling = ReturnTypeOf(qualType, out var prototypeError);
        if (returnSpelling is null)
        {
            diagnostics.Fail(line, name, prototypeError!);
            return;
        }
        var returnType = Parse(returnSpelling, line, name);
        if (returnType is not null)
        {
            Add(order, new FunctionDeclaration(name, line, DocOf(node), returnType, parameters), name: null);
        }
    }

    /// <summary>
    /// The return type of a function type spelled "RET (PARAMS)". Refuses a function without a prototype
    /// ("int ()") and one returning a function pointer spelled inline ("void (*(int))(int)").
    /// </summary>
    private static string? ReturnTypeOf(string functionType, out string? error)
    {
        error = null;
        var open = functionType.IndexOf('(', StringComparison.Ordinal);
        if (open < 0 || !functionType.EndsWith(')'))
        {
            error = $"unexpected function type '{functionType}'";
            return null;
        }
        var depth = 0;
        for (var i = open; i < functionType.Length; i++)
        {
            depth += functionType[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (depth == 0 && i != functionType.Length - 1)
            {
                error = $"function type '{functionType}' is not supported (name a returned function pointer type with a typedef)";
                return null;
            }
        }
        if (functionType[open..] == "()")
        {
            error = "is declared without a prototype: write (void) for no parameters";
            return null;
        }
        return functionType[..open].Trim();
    }

    private void AddTag(TagInfo tag)
    {
        var name = tag.CName;
        if (tag.TypedefName is null && tag.TagName is null)
        {
            diagnostics.Fail(tag.Line, name, "anonymous enums and structs need a typedef name");
            return;
        }
        var doc = tag.Doc ?? tag.TypedefDoc;
        HeaderDeclaration? declaration = tag switch
        {
            { IsEnum: true, Definition: { } definition } => ReadEnum(definition, name, tag.Line, doc),
            { IsEnum: true } => Fail<HeaderDeclaration>(tag.Line, name, "enum is declared but never defined"),
            { Definition: { } definition } => ReadStruct(definition, name, tag.Line, doc),
            _ => new OpaqueDeclaration(name, tag.Line, doc),
        };
        if (declaration is null)
        {
            return;
        }
        _declarations.Add((tag.Order, declaration));
        if (tag.TagName is not null)
        {
            _typeNames[(tag.IsEnum ? "enum " : "struct ") + tag.TagName] = declaration;
        }
        if (tag.TypedefName is not null)
        {
            _typeNames[tag.TypedefName] = declaration;
        }
    }

    private EnumDeclaration? ReadEnum(JsonElement node, string name, int line, string? doc)
    {
        if (node.TryGetProperty("fixedUnderlyingType", out _))
        {
            return Fail<EnumDeclaration>(line, name, "enums with a fixed underlying type are not supported");
        }
        var members = new List<EnumMember>();
        long next = 0;
        foreach (var child in Inner(node))
        {
            var kind = StringProperty(child, "kind");
            if (kind == "FullComment")
            {
                continue;
            }
            if (kind != "EnumConstantDecl")
            {
                return Fail<EnumDeclaration>(line, name, $"{kind} inside an enum is not supported");
            }
            var memberName = StringProperty(child, "name")!;
            var initializer = Inner(child).FirstOrDefault(c => StringProperty(c, "kind") != "FullComment");
            var value = next;
            if (initializer.ValueKind != JsonValueKind.Undefined
                && !long.TryParse(StringProperty(initializer, "value"), NumberStyles.AllowLeadingSign,
                                  CultureInfo.InvariantCulture, out value))
            {
                return Fail<EnumDeclaration>(line, $"{name}.{memberName}", "value could not be read from the AST");
            }
            members.Add(new EnumMember(memberName, value, DocOf(child)));
            next = value + 1;
        }
        return new EnumDeclaration(name, line, doc, members);
    }

    private StructDeclaration? ReadStruct(JsonElement node, string name, int line, string? doc)
    {
        var fields = new List<StructField>();
        foreach (var child in Inner(node))
        {
            var kind = StringProperty(child, "kind");
            if (kind == "FullComment")
            {
                continue;
            }
            var fieldName = StringProperty(child, "name") ?? "(anonymous)";
            var where = kind == "FieldDecl" ? $"{name}.{fieldName}" : name;
            if (kind != "FieldDecl")
            {
                return Fail<StructDeclaration>(line, where, kind switch
                {
                    "RecordDecl" => "nested struct or union declarations are not supported",
                    "IndirectFieldDecl" => "anonymous struct or union members are not supported",
                    _ when kind?.EndsWith("Attr", StringComparison.Ordinal) == true =>
                        $"{kind} changes the layout and is not supported",
                    _ => $"{kind} inside a struct is not supported",
                });
            }
            if (HasTrueProperty(child, "isBitfield"))
            {
                return Fail<StructDeclaration>(line, where, "bit-fields are not supported");
            }
            var other = Inner(child).FirstOrDefault(c => StringProperty(c, "kind") != "FullComment");
            if (other.ValueKind != JsonValueKind.Undefined)
            {
                return Fail<StructDeclaration>(line, where, $"{StringProperty(other, "kind")} on a field is not supported");
            }
            var type = Parse(child.GetProperty("type").GetProperty("qualType").GetString()!, line, where);
            if (type is null)
            {
                return null;
            }
            fields.Add(new StructField(fieldName, type, DocOf(child)));
        }
        if (fields.Count == 0)
        {
            return Fail<StructDeclaration>(line, name, "a struct without fields is not supported");
        }
        return new StructDeclaration(name, line, doc, fields);
    }

    private void Add(int order, HeaderDeclaration declaration, string? name)
    {
        _declarations.Add((order, declaration));
        if (name is not null)
        {
            _typeNames[name] = declaration;
        }
    }

    private CType? Parse(string spelling, int line, string where)
    {
        var type = CType.TryParse(spelling, out var error);
        if (type is null)
        {
            diagnostics.Fail(line, where, error!);
        }
        return type;
    }

    private T? Fail<T>(int line, string where, string message) where T : class
    {
        diagnostics.Fail(line, where, message);
        return null;
    }

    /// <summary>
    /// The declaration's comment, read from the header's own bytes around the range clang attached. A
    /// comment after the declaration counts only if nothing but ',' or ';' separates them: clang attaches
    /// a trailing comment to every declaration on its line ("A, B, C /**&lt; about C */").
    /// </summary>
    private string? DocOf(JsonElement node)
    {
        var comment = Inner(node).FirstOrDefault(c => StringProperty(c, "kind") == "FullComment");
        if (comment.ValueKind == JsonValueKind.Undefined || !comment.TryGetProperty("range", out var range))
        {
            return null;
        }
        var begin = LocationTracker.OffsetOf(range.GetProperty("begin"));
        var end = LocationTracker.OffsetOf(range.GetProperty("end"));
        if (begin is null || end is null || begin > end || end > headerBytes.Length)
        {
            return null;
        }
        var (start, text) = CommentText.Extract(headerBytes, begin.Value, end.Value);
        if (node.TryGetProperty("range", out var declRange)
            && LocationTracker.OffsetOf(declRange.GetProperty("begin")) < start
            && LocationTracker.EndOf(declRange.GetProperty("end")) is { } declEnd
            && declEnd <= start
            && headerBytes[declEnd..start].Any(b => b is not ((byte)' ' or (byte)'\t' or (byte)',' or (byte)';')))
        {
            return null;
        }
        return CommentText.Clean(text);
    }

    private static string? TagIdOf(JsonElement typeNode)
    {
        if (typeNode.TryGetProperty("ownedTagDecl", out var owned))
        {
            return StringProperty(owned, "id");
        }
        var kind = StringProperty(typeNode, "kind");
        if (kind is "RecordType" or "EnumType" && typeNode.TryGetProperty("decl", out var decl))
        {
            return StringProperty(decl, "id");
        }
        if (kind == "ElaboratedType" && FirstInner(typeNode) is { } named)
        {
            return TagIdOf(named);
        }
        return null;
    }

    private static JsonElement? SkipParens(JsonElement? node)
    {
        while (node is { } n && StringProperty(n, "kind") == "ParenType")
        {
            node = FirstInner(n);
        }
        return node;
    }

    private static IEnumerable<JsonElement> Inner(JsonElement node) =>
        node.TryGetProperty("inner", out var inner) ? inner.EnumerateArray() : [];

    private static JsonElement? FirstInner(JsonElement node) =>
        node.TryGetProperty("inner", out var inner) && inner.GetArrayLength() > 0 ? inner[0] : null;

    private static string? StringProperty(JsonElement node, string name) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool HasTrueProperty(JsonElement node, string name) =>
        node.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
}
