/*
 * EdgeWhisk in the Node-RED editor: the sidebar tab (every activation live, pushed through Node-RED's comms) and
 * "Run" in the action dialog (the code being edited, run before deploy). Served by Node-RED from the module's
 * resources/ folder and loaded once, by the engine node's editor file.
 *
 * The runtime side is src/nodes/lib/editor-feed.ts (what is pushed) and src/nodes/lib/admin-routes.ts (what is
 * fetched): GET edgewhisk/engines, GET edgewhisk/engines/:key/activations[/:id], POST edgewhisk/run, the
 * engine's dead letters: GET edgewhisk/engines/:key/dead-letters, POST …/dead-letters/:id/redrive, DELETE …/:id,
 * and the trigger dialog's schedule preview: GET edgewhisk/schedule.
 */
(function () {
    'use strict';
    if (window.EdgeWhiskEditor) { return; }

    /** Activations kept per engine in the browser; the oldest finished ones go first. */
    var MAX_KEPT = 500;
    /** Rows drawn at once: the list stays smooth however many arrive. */
    var MAX_DRAWN = 200;
    /** Durations per action in its sparkline. */
    var SPARK_POINTS = 40;
    /**
     * While the sidebar is shown, it tells the runtime so this often (src/nodes/lib/editor-feed.ts, WATCH_RENEW_MS):
     * the runtime listens to its engines only while someone is looking, and costs them nothing otherwise.
     */
    var WATCH_RENEW_MS = 10000;
    /** Dead letters listed per engine; the header counts them all. */
    var MAX_DEAD_LETTERS = 50;
    var STATUS = [
        { text: 'success', cls: 'ew-ok' },
        { text: 'application error', cls: 'ew-app' },
        { text: 'action developer error', cls: 'ew-dev' },
        { text: 'whisk internal error', cls: 'ew-int' }
    ];

    var CSS = [
        '.ew-sidebar { display:flex; flex-direction:column; height:100%; font-size:12px; }',
        '.ew-toolbar { display:flex; flex-wrap:wrap; gap:4px; padding:6px; border-bottom:1px solid var(--red-ui-secondary-border-color,#ddd); }',
        '.ew-toolbar select, .ew-toolbar input { height:24px; font-size:12px; margin:0; padding:0 4px; }',
        '.ew-toolbar select { flex:1 1 30%; min-width:70px; }',
        '.ew-toolbar .ew-filter-action { flex:1 1 70%; min-width:60px; }',
        '.ew-stats { padding:4px 8px; border-bottom:1px solid var(--red-ui-secondary-border-color,#ddd); color:var(--red-ui-secondary-text-color,#555); }',
        '.ew-meter { height:4px; background:var(--red-ui-secondary-border-color,#ddd); margin-top:3px; }',
        '.ew-meter > div { height:4px; background:#5FB8E8; }',
        '.ew-actions { padding:2px 8px; border-bottom:1px solid var(--red-ui-secondary-border-color,#ddd); max-height:25%; overflow:auto; flex:none; }',
        '.ew-toolbar, .ew-stats, .ew-note { flex:none; }',
        '.ew-list { min-height:120px; }',
        '.ew-action-row { display:flex; align-items:center; gap:6px; line-height:18px; }',
        '.ew-action-row .ew-name { flex:1; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }',
        '.ew-list { flex:1; overflow:auto; }',
        '.ew-row { padding:3px 8px; border-bottom:1px solid var(--red-ui-secondary-border-color,#eee); cursor:pointer; display:grid; grid-template-columns:auto 1fr auto; gap:0 6px; }',
        '.ew-row:hover { background:var(--red-ui-list-item-background-hover,#f3f3f3); }',
        '.ew-row .ew-sub { grid-column:2 / 4; color:var(--red-ui-secondary-text-color,#777); overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }',
        '.ew-badge { display:inline-block; min-width:10px; height:10px; border-radius:5px; margin-top:3px; }',
        '.ew-ok { background:#5a8; } .ew-app { background:#e8a33d; } .ew-dev { background:#d6615f; } .ew-int { background:#8e2a2a; }',
        '.ew-queued { background:#bbb; } .ew-running { background:#5FB8E8; }',
        '.ew-link { color:var(--red-ui-text-color-link,#0070c0); cursor:pointer; }',
        '.ew-detail { padding:8px; overflow:auto; flex:1; }',
        '.ew-detail h4 { margin:10px 0 4px; }',
        '.ew-detail pre { white-space:pre-wrap; word-break:break-word; max-height:300px; overflow:auto; font-size:11px; }',
        '.ew-detail table { width:100%; font-size:11px; } .ew-detail td { vertical-align:top; padding:1px 4px; word-break:break-all; }',
        '.ew-empty { padding:16px 8px; color:var(--red-ui-secondary-text-color,#777); }',
        '.ew-note { padding:2px 8px; color:#b85c00; }',
        '.ew-run-result { margin-top:6px; } .ew-run-result pre { white-space:pre-wrap; word-break:break-word; max-height:240px; overflow:auto; font-size:11px; }',
        '.ew-run-head { display:flex; align-items:center; gap:6px; }',
        '.ew-schedule-next { margin:0 0 0 18px; font-family:monospace; font-size:12px; } .ew-schedule-error { color:#d6615f; }',
        '.ew-dead { flex:none; padding:2px 8px; border-bottom:1px solid var(--red-ui-secondary-border-color,#ddd); max-height:25%; overflow:auto; }',
        '.ew-dead-head { cursor:pointer; color:#8e2a2a; font-weight:bold; line-height:20px; }',
        '.ew-dead-row { display:grid; grid-template-columns:1fr auto; gap:0 6px; padding:2px 0; border-top:1px solid var(--red-ui-secondary-border-color,#eee); }',
        '.ew-dead-row .ew-sub { grid-column:1 / 3; color:var(--red-ui-secondary-text-color,#777); word-break:break-word; }',
        '.ew-dead-row .ew-name { overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }',
        '.ew-dead-row .ew-dead-buttons { white-space:nowrap; }'
    ].join('\n');

    function escapeHtml(text) {
        return String(text).replace(/[&<>"']/g, function (c) {
            return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
        });
    }
    function clock(ms) {
        var d = new Date(ms);
        function pad(n, w) { return String(n).padStart(w || 2, '0'); }
        return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
    }
    function nodeLabel(id) {
        var node = id && RED.nodes.node(id);
        if (!node) { return id ? id : ''; }
        return RED.utils.getNodeLabel(node, node.type);
    }
    function badgeClass(entry) {
        if (entry.state === 'queued') { return 'ew-queued'; }
        if (entry.state === 'running') { return 'ew-running'; }
        return (STATUS[entry.statusCode] || STATUS[3]).cls;
    }
    function stateText(entry) {
        if (entry.state !== 'done') { return entry.state; }
        return (STATUS[entry.statusCode] || STATUS[3]).text;
    }
    function timings(entry) {
        if (entry.state !== 'done') { return ''; }
        var parts = [];
        if (entry.waitTime !== undefined) { parts.push('wait ' + entry.waitTime); }
        if (entry.initTime !== undefined) { parts.push('init ' + entry.initTime); }
        var run = entry.duration === undefined ? undefined : entry.duration - (entry.initTime || 0);
        if (run !== undefined && entry.type === 'action') { parts.push('run ' + run); }
        return (entry.duration === undefined ? '' : entry.duration + ' ms') + (parts.length ? ' (' + parts.join(' · ') + ')' : '');
    }
    function median(values) {
        if (values.length === 0) { return undefined; }
        var sorted = values.slice().sort(function (a, b) { return a - b; });
        var mid = Math.floor(sorted.length / 2);
        return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
    }
    function sparkline(values) {
        if (values.length < 2) { return ''; }
        var w = 80, h = 16, max = Math.max.apply(null, values) || 1;
        var points = values.map(function (v, i) {
            return (i * w / (values.length - 1)).toFixed(1) + ',' + (h - 1 - (v / max) * (h - 2)).toFixed(1);
        }).join(' ');
        return '<svg class="ew-spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '"><polyline fill="none" stroke="#5FB8E8" stroke-width="1.5" points="' + points + '"/></svg>';
    }

    // ---------------------------------------------------------------------------------------------------------
    // The sidebar

    var engines = {};
    var selectedEngine = '';
    var filters = { action: '', status: 'all', node: 'all' };
    var detailId = null;
    var renderQueued = false;
    var $root, $engineSelect, $nodeSelect, $stats, $actions, $list, $detail, $note, $dead;
    /** Whether the dead-letter list is unfolded (its header always shows when there are any). */
    var deadOpen = false;

    function engineState(key, label) {
        var engine = engines[key];
        if (!engine) {
            engine = engines[key] = { key: key, label: label || key, stats: null, entries: new Map(), dropped: 0 };
            refreshEngineSelect();
        } else if (label) {
            engine.label = label;
        }
        return engine;
    }

    function keep(engine, entry) {
        var previous = engine.entries.get(entry.id);
        if (previous) {
            // Never step back: a late "running" must not overwrite "done".
            if (previous.state === 'done' && entry.state !== 'done') { return; }
            engine.entries.set(entry.id, Object.assign({}, previous, entry));
            return;
        }
        engine.entries.set(entry.id, entry);
        if (engine.entries.size > MAX_KEPT) {
            var excess = engine.entries.size - MAX_KEPT;
            engine.entries.forEach(function (e, id) {
                if (excess > 0 && e.state === 'done') { engine.entries.delete(id); excess--; }
            });
            engine.entries.forEach(function (e, id) {
                if (excess > 0) { engine.entries.delete(id); excess--; }
            });
        }
    }

    function onFeed(topic, message) {
        if (!message || typeof message.engine !== 'string') { return; }
        var known = !!engines[message.engine];
        var engine = engineState(message.engine);
        if (!known) { loadEngines(); }
        var internal = false;
        (message.entries || []).forEach(function (entry) {
            keep(engine, entry);
            if (entry.state === 'done' && entry.statusCode === 3) { internal = true; }
        });
        // A dead letter's final record is a whisk internal error: only then can the list have changed.
        if (internal && message.engine === selectedEngine) { scheduleDeadLetters(); }
        if (message.stats) { engine.stats = message.stats; }
        if (message.dropped) { engine.dropped += message.dropped; }
        if (!selectedEngine) { selectedEngine = message.engine; refreshEngineSelect(); }
        scheduleRender();
    }

    function loadEngines() {
        $.getJSON('edgewhisk/engines').done(function (list) {
            list.forEach(function (e) {
                var engine = engineState(e.key, e.label);
                engine.stats = e.stats;
                if (!engine.loaded) {
                    engine.loaded = true;
                    $.getJSON('edgewhisk/engines/' + encodeURIComponent(e.key) + '/activations?limit=' + MAX_DRAWN).done(function (body) {
                        // Oldest first, so the newest end up last (the list draws newest first).
                        body.entries.slice().sort(function (a, b) { return a.at - b.at; }).forEach(function (entry) {
                            keep(engine, entry);
                        });
                        engine.stats = body.stats;
                        scheduleRender();
                    });
                }
            });
            if (!selectedEngine && list.length) { selectedEngine = list[0].key; }
            refreshEngineSelect();
            loadDeadLetters();
            scheduleRender();
        }).fail(function (xhr) {
            showNote(xhr.status === 401 ? 'You do not have permission to see EdgeWhisk activity (edgewhisk.read).' : '');
        });
    }

    // Accepted invocations that will not finish on their own (src/nodes/lib/admin-routes.ts): after a restart, ones
    // whose action node is gone; ones that failed for the engine's own reasons more often than its retry limit.
    function loadDeadLetters() {
        var key = selectedEngine;
        var engine = engines[key];
        if (!engine) { renderDeadLetters(); return; }
        $.getJSON('edgewhisk/engines/' + encodeURIComponent(key) + '/dead-letters?limit=' + MAX_DEAD_LETTERS).done(function (body) {
            engine.deadLetters = body.deadLetters;
            engine.deadCount = body.count;
            if (key === selectedEngine) { renderDeadLetters(); }
        });
    }

    var deadLettersTimer = null;
    /** At most one reload a second, however many failures arrive. */
    function scheduleDeadLetters() {
        if (deadLettersTimer) { return; }
        deadLettersTimer = setTimeout(function () { deadLettersTimer = null; loadDeadLetters(); }, 1000);
    }

    function renderDeadLetters() {
        if (!$dead) { return; }
        var engine = engines[selectedEngine];
        var letters = (engine && engine.deadLetters) || [];
        var count = (engine && engine.deadCount) || 0;
        if (count === 0) { $dead.hide().empty(); return; }
        var html = '<div class="ew-dead-head" title="accepted invocations that will not finish on their own">' +
            '<i class="fa fa-caret-' + (deadOpen ? 'down' : 'right') + '"></i> Dead letters (' + count + ')</div>';
        if (deadOpen) {
            html += letters.map(function (d) {
                return '<div class="ew-dead-row" data-dead="' + escapeHtml(d.activationId) + '">' +
                    '<span class="ew-name" title="' + escapeHtml(d.activationId) + '">' + escapeHtml(d.action) + '</span>' +
                    '<span class="ew-dead-buttons">' +
                    '<button type="button" class="red-ui-button red-ui-button-small ew-redrive" title="run it again, as a new activation">Run again</button> ' +
                    '<button type="button" class="red-ui-button red-ui-button-small ew-drop" title="drop it (its record stays)">Drop</button></span>' +
                    '<span class="ew-sub">accepted ' + escapeHtml(new Date(d.acceptedAt).toLocaleString()) + ' · ' + d.attempts + ' attempt' + (d.attempts === 1 ? '' : 's') +
                    ' · ' + escapeHtml(d.reason) + '</span></div>';
            }).join('') + (count > letters.length ? '<div class="ew-empty">' + (count - letters.length) + ' more not shown</div>' : '');
        }
        $dead.html(html).show();
    }

    function deadLetterAction(id, method, path) {
        var key = selectedEngine;
        $.ajax({ url: 'edgewhisk/engines/' + encodeURIComponent(key) + '/dead-letters/' + encodeURIComponent(id) + path, method: method, dataType: 'json' })
            .done(function (body) {
                if (body.activationId) { RED.notify('Running again as ' + body.activationId, { type: 'success', timeout: 3000 }); }
            })
            .fail(function (xhr) {
                var message = xhr.status === 401 ? 'You do not have permission to change dead letters (edgewhisk.write).' : (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || 'The request failed.';
                RED.notify(escapeHtml(message), 'error');
            })
            .always(loadDeadLetters);
    }

    function showNote(text) { $note.text(text || '').toggle(!!text); }

    function refreshEngineSelect() {
        if (!$engineSelect) { return; }
        var keys = Object.keys(engines);
        $engineSelect.empty();
        if (keys.length === 0) { $('<option/>').val('').text('no engine running').appendTo($engineSelect); }
        keys.forEach(function (key) { $('<option/>').val(key).text(engines[key].label).appendTo($engineSelect); });
        $engineSelect.val(selectedEngine);
    }

    function scheduleRender() {
        if (renderQueued) { return; }
        renderQueued = true;
        window.requestAnimationFrame(function () { renderQueued = false; render(); });
    }

    function matches(entry) {
        if (filters.action && entry.name.toLowerCase().indexOf(filters.action.toLowerCase()) === -1) { return false; }
        if (filters.node !== 'all' && entry.node !== filters.node && entry.actionNode !== filters.node) { return false; }
        switch (filters.status) {
            case 'active': return entry.state !== 'done';
            case 'success': return entry.state === 'done' && entry.statusCode === 0;
            case 'failed': return entry.state === 'done' && entry.statusCode !== 0;
            default: return true;
        }
    }

    function render() {
        if (!$root) { return; }
        var engine = engines[selectedEngine];
        renderStats(engine);
        if (detailId) { return; }
        var entries = engine ? Array.from(engine.entries.values()).reverse() : [];
        renderNodeFilter(entries);
        renderActions(entries);
        var shown = entries.filter(matches).slice(0, MAX_DRAWN);
        if (shown.length === 0) {
            $list.html('<div class="ew-empty">' + (engine ? 'No activations match.' : 'No EdgeWhisk engine is running. Deploy a flow with an EdgeWhisk action.') + '</div>');
            return;
        }
        $list.html(shown.map(rowHtml).join(''));
    }

    function rowHtml(entry) {
        var label = entry.node ? nodeLabel(entry.node) : '';
        var via = entry.rule ? 'rule ' + entry.rule.split('/').pop() : entry.editor ? 'run from the editor' : entry.cause ? 'component of ' + entry.cause.slice(0, 8) : '';
        var sub = [clock(entry.at), timings(entry) || stateText(entry), via, label ? '⤷ ' + label : ''].filter(Boolean).join(' · ');
        return '<div class="ew-row" data-id="' + escapeHtml(entry.id) + '" title="' + escapeHtml(stateText(entry)) + '">' +
            '<span class="ew-badge ' + badgeClass(entry) + '"></span>' +
            '<span class="ew-name">' + (entry.type === 'trigger' ? '<i class="fa fa-bolt"></i> ' : '') + escapeHtml(entry.name) + '</span>' +
            '<span>' + (entry.state === 'done' && entry.duration !== undefined ? entry.duration + ' ms' : escapeHtml(entry.state)) + '</span>' +
            '<span class="ew-sub">' + escapeHtml(sub) + '</span></div>';
    }

    function renderStats(engine) {
        if (!engine || !engine.stats) { $stats.text(''); return; }
        var s = engine.stats;
        var pct = s.memoryBudget ? Math.min(100, Math.round((s.memoryUsed / s.memoryBudget) * 100)) : 0;
        $stats.html(escapeHtml('queued ' + s.queued + ' · running ' + s.running + ' · containers ' + s.containers + ' (' + s.busy + ' busy) · memory ' + s.memoryUsed + ' / ' + s.memoryBudget + ' MB') +
            (engine.dropped ? '<br>' + escapeHtml(engine.dropped + ' activations not shown (too many at once)') : '') +
            '<div class="ew-meter" title="container memory against the engine budget"><div style="width:' + pct + '%"></div></div>');
    }

    function renderNodeFilter(entries) {
        var ids = {};
        entries.forEach(function (e) { if (e.node) { ids[e.node] = true; } if (e.actionNode) { ids[e.actionNode] = true; } });
        var wanted = ['all'].concat(Object.keys(ids)).join('|');
        if ($nodeSelect.data('ids') === wanted) { return; }
        $nodeSelect.data('ids', wanted).empty();
        $('<option/>').val('all').text('all nodes').appendTo($nodeSelect);
        Object.keys(ids).forEach(function (id) { $('<option/>').val(id).text(nodeLabel(id)).appendTo($nodeSelect); });
        $nodeSelect.val(ids[filters.node] ? filters.node : 'all');
    }

    function renderActions(entries) {
        var byName = {};
        entries.forEach(function (e) {
            if (e.type !== 'action' || e.state !== 'done' || e.duration === undefined) { return; }
            (byName[e.name] = byName[e.name] || []).push(e.duration);
        });
        var names = Object.keys(byName).sort();
        $actions.html(names.map(function (name) {
            var durations = byName[name].slice(0, SPARK_POINTS).reverse();
            return '<div class="ew-action-row"><span class="ew-name ew-link" data-action="' + escapeHtml(name) + '">' + escapeHtml(name) + '</span>' +
                '<span title="median of the last ' + byName[name].length + '">' + median(byName[name]) + ' ms</span>' + sparkline(durations) + '</div>';
        }).join('')).toggle(names.length > 0);
    }

    function showDetail(id) {
        var engine = engines[selectedEngine];
        if (!engine) { return; }
        detailId = id;
        $list.hide();
        $actions.hide();
        $detail.show().html('<div class="ew-empty">loading…</div>');
        $.getJSON('edgewhisk/engines/' + encodeURIComponent(engine.key) + '/activations/' + encodeURIComponent(id)).done(function (body) {
            if (detailId !== id) { return; }
            drawDetail(engine, body.activation, Object.assign({}, engine.entries.get(id) || {}, body.entry));
        }).fail(function (xhr) {
            var entry = engine.entries.get(id);
            $detail.html('<a class="ew-link ew-back">‹ back</a><div class="ew-empty">' + escapeHtml(entry && entry.state !== 'done' ? 'Still ' + entry.state + '.' : (xhr.responseJSON && xhr.responseJSON.error) || 'Not found.') + '</div>');
        });
    }

    function chainHtml(engine, entry) {
        var parts = [];
        var seen = {};
        var cause = entry.cause;
        while (cause && !seen[cause]) {
            seen[cause] = true;
            var parent = engine.entries.get(cause);
            parts.unshift('<a class="ew-link" data-open="' + escapeHtml(cause) + '">' + escapeHtml(parent ? (parent.type === 'trigger' ? 'trigger ' : '') + parent.name : cause.slice(0, 12)) + '</a>');
            cause = parent && parent.cause;
        }
        if (entry.rule) { parts.push('rule ' + escapeHtml(entry.rule)); }
        parts.push('<b>' + escapeHtml(entry.name) + '</b>');
        var children = Array.from(engine.entries.values()).filter(function (e) { return e.cause === entry.id; });
        var childHtml = children.map(function (c) {
            return '<a class="ew-link" data-open="' + escapeHtml(c.id) + '">' + escapeHtml((c.rule ? c.rule.split('/').pop() + ' → ' : '') + c.name) + '</a>';
        }).join(', ');
        return parts.join(' → ') + (childHtml ? '<br>caused: ' + childHtml : '');
    }

    function drawDetail(engine, activation, entry) {
        var r = activation.response;
        var html = '<a class="ew-link ew-back">‹ back</a>' +
            '<h4><span class="ew-badge ' + (STATUS[r.statusCode] || STATUS[3]).cls + '"></span> ' + escapeHtml(activation.name) + ' — ' + escapeHtml(r.status) + '</h4>' +
            '<div>' + escapeHtml(activation.activationId) + '</div>' +
            '<div>' + escapeHtml(new Date(activation.start).toLocaleString() + ' · ' + timings(Object.assign({}, entry, { state: 'done', duration: activation.duration }))) + '</div>' +
            '<div>' + chainHtml(engine, entry) + '</div>' +
            (entry.node ? '<div>caused by node: <a class="ew-link" data-reveal="' + escapeHtml(entry.node) + '">' + escapeHtml(nodeLabel(entry.node)) + '</a></div>' : '') +
            (entry.actionNode && entry.actionNode !== entry.node ? '<div>defined by node: <a class="ew-link" data-reveal="' + escapeHtml(entry.actionNode) + '">' + escapeHtml(nodeLabel(entry.actionNode)) + '</a></div>' : '') +
            '<h4>' + (entry.type === 'trigger' ? 'Payload' : 'Result') + '</h4><div class="ew-result"></div>' +
            '<h4>Logs</h4><pre>' + escapeHtml(activation.logs.length ? activation.logs.join('\n') : '(none)') + '</pre>' +
            '<h4>Annotations</h4><table>' + activation.annotations.map(function (a) {
                return '<tr><td>' + escapeHtml(a.key) + '</td><td>' + escapeHtml(typeof a.value === 'string' ? a.value : JSON.stringify(a.value)) + '</td></tr>';
            }).join('') + '</table>' +
            '<div class="ew-empty">Parameters are not kept in activation records (as in OpenWhisk).</div>';
        $detail.html(html);
        var result = r.result === undefined ? {} : r.result;
        var $result = $detail.find('.ew-result');
        if (RED.utils && typeof RED.utils.createObjectElement === 'function') {
            $result.append(RED.utils.createObjectElement(result, { key: null, expanded: true, path: '' }));
        } else {
            $('<pre/>').text(JSON.stringify(result, null, 2)).appendTo($result);
        }
    }

    function closeDetail() {
        detailId = null;
        $detail.hide().empty();
        $list.show();
        render();
    }

    function createSidebar() {
        $('<style/>').attr('id', 'edgewhisk-editor-css').text(CSS).appendTo('head');
        $root = $('<div class="ew-sidebar"></div>');
        var $toolbar = $('<div class="ew-toolbar"></div>').appendTo($root);
        $engineSelect = $('<select class="ew-engine" title="engine"></select>').appendTo($toolbar).on('change', function () {
            selectedEngine = $(this).val();
            closeDetail();
            loadDeadLetters();
        });
        $('<select class="ew-filter-status" title="status"><option value="all">any status</option><option value="active">queued or running</option><option value="success">success</option><option value="failed">failed</option></select>')
            .appendTo($toolbar).on('change', function () { filters.status = $(this).val(); scheduleRender(); });
        $nodeSelect = $('<select class="ew-filter-node" title="node"></select>').appendTo($toolbar).on('change', function () { filters.node = $(this).val(); scheduleRender(); });
        $('<input type="text" class="ew-filter-action" placeholder="filter by action">').appendTo($toolbar).on('input', function () {
            filters.action = $(this).val().trim();
            scheduleRender();
        });
        $('<button type="button" class="red-ui-button red-ui-button-small ew-clear" title="clear the list"><i class="fa fa-trash"></i></button>').appendTo($toolbar).on('click', function () {
            var engine = engines[selectedEngine];
            if (engine) { engine.entries.clear(); engine.dropped = 0; }
            closeDetail();
        });
        $note = $('<div class="ew-note"></div>').hide().appendTo($root);
        $stats = $('<div class="ew-stats"></div>').appendTo($root);
        $dead = $('<div class="ew-dead"></div>').hide().appendTo($root);
        $actions = $('<div class="ew-actions"></div>').appendTo($root);
        $list = $('<div class="ew-list"></div>').appendTo($root);
        $detail = $('<div class="ew-detail"></div>').hide().appendTo($root);

        $list.on('click', '.ew-row', function () { showDetail($(this).attr('data-id')); });
        $actions.on('click', '[data-action]', function () {
            filters.action = $(this).attr('data-action');
            $root.find('.ew-filter-action').val(filters.action);
            scheduleRender();
        });
        $dead.on('click', '.ew-dead-head', function () { deadOpen = !deadOpen; renderDeadLetters(); });
        $dead.on('click', '.ew-redrive', function () { deadLetterAction($(this).closest('[data-dead]').attr('data-dead'), 'POST', '/redrive'); });
        $dead.on('click', '.ew-drop', function () { deadLetterAction($(this).closest('[data-dead]').attr('data-dead'), 'DELETE', ''); });
        $detail.on('click', '.ew-back', closeDetail);
        $detail.on('click', '[data-open]', function () { showDetail($(this).attr('data-open')); });
        $detail.on('click', '[data-reveal]', function () { RED.view.reveal($(this).attr('data-reveal')); });

        RED.sidebar.addTab({
            id: 'edgewhisk',
            label: 'EdgeWhisk',
            name: 'EdgeWhisk activations',
            iconClass: 'fa fa-bolt',
            content: $root,
            enableOnEdit: true,
            // Shown again: what happened while it was hidden is in the engines' records.
            onchange: function () { watch(); reloadRecent(); scheduleRender(); }
        });
        RED.comms.subscribe('edgewhisk/activity/#', onFeed);
        // Engines start and stop with deploys.
        RED.events.on('deploy', function () { setTimeout(loadEngines, 1000); });
        watch();
        setInterval(function () { if (shown()) { watch(); } }, WATCH_RENEW_MS);
        loadEngines();
    }

    function shown() {
        return $root.is(':visible') && document.visibilityState !== 'hidden';
    }

    function watch() {
        if (typeof RED.comms.send === 'function') { RED.comms.send('edgewhisk/watch', {}); }
    }

    function reloadRecent() {
        Object.keys(engines).forEach(function (key) { engines[key].loaded = false; });
        loadEngines();
    }

    // ---------------------------------------------------------------------------------------------------------
    // "Run" in the action dialog

    function sampleKey(nodeId) { return 'edgewhisk.sample.' + nodeId; }

    /** The sample text as the node would receive it in msg.payload: JSON when it parses, else the text itself. */
    function parseSample(text) {
        var trimmed = text.trim();
        if (trimmed === '') { return undefined; }
        try { return JSON.parse(trimmed); } catch (e) { return text; }
    }

    /** The dialog's fields as the runtime's draft (src/nodes/lib/draft-run.ts). */
    function collectDraft(node, editor) {
        var params = [];
        $('#node-input-params-container').editableList('items').each(function () {
            var key = $(this).find('.node-input-param-key').val().trim();
            if (key !== '') { params.push({ key: key, type: $(this).find('.node-input-param-type').val(), value: $(this).find('.node-input-param-value').val() }); }
        });
        var components = [];
        $('#node-input-components-container').editableList('items').each(function () {
            var name = $(this).find('.node-input-component').val().trim();
            if (name !== '') { components.push(name); }
        });
        var engine = $('#node-input-engine').val();
        return {
            node: node.id,
            engine: engine === '_ADD_' || !engine ? '' : engine,
            kind: $('#node-input-kind').val(),
            code: editor.getValue(),
            main: $('#node-input-main').val(),
            runtime: $('#node-input-runtime').val(),
            image: $('#node-input-image').val(),
            network: $('#node-input-network').val(),
            components: components,
            timeout: $('#node-input-timeout').val(),
            memory: $('#node-input-memory').val(),
            concurrency: $('#node-input-concurrency').val(),
            logs: $('#node-input-logs').val(),
            params: params
        };
    }

    function drawRunResult($out, activation, elapsed) {
        var r = activation.response;
        var annotations = {};
        activation.annotations.forEach(function (a) { annotations[a.key] = a.value; });
        var parts = [activation.duration + ' ms'];
        if (annotations.waitTime !== undefined) { parts.push('wait ' + annotations.waitTime); }
        if (annotations.initTime !== undefined) { parts.push('init ' + annotations.initTime); }
        $out.empty();
        $('<div class="ew-run-head"></div>')
            .append($('<span class="ew-badge"></span>').addClass((STATUS[r.statusCode] || STATUS[3]).cls))
            .append($('<b class="ew-run-status"></b>').text(r.status))
            .append($('<span class="ew-run-duration"></span>').text(parts.join(' · ') + ' (round trip ' + elapsed + ' ms)'))
            .appendTo($out);
        $('<div/>').text(r.success ? 'Result (msg.payload):' : 'Error:').appendTo($out);
        $('<pre class="ew-run-output"></pre>').text(JSON.stringify(r.result, null, 2)).appendTo($out);
        $('<div/>').text('Logs:').appendTo($out);
        $('<pre class="ew-run-logs"></pre>').text(activation.logs.length ? activation.logs.join('\n') : '(none)').appendTo($out);
    }

    /** Adds the sample payload and the Run button to the action dialog (called from its oneditprepare). */
    function attachRun(node, editor, container) {
        var $row = $('<div class="form-row edgewhisk-code ew-run"></div>').appendTo(container);
        $('<label style="width:auto"><i class="fa fa-play"></i> Try it before deploying — sample <code>msg.payload</code> (JSON or text):</label>').appendTo($row);
        var $sample = $('<textarea class="ew-run-sample" rows="3" style="width:100%; font-family:monospace; font-size:12px"></textarea>').appendTo($row);
        var stored = null;
        try { stored = window.localStorage.getItem(sampleKey(node.id)); } catch (e) { stored = null; }
        $sample.val(stored !== null ? stored : '{"name": "Node-RED"}');
        var $button = $('<button type="button" class="red-ui-button ew-run-button"><i class="fa fa-play"></i> Run</button>').appendTo($('<div style="margin-top:4px"></div>').appendTo($row));
        $('<span style="margin-left:8px; color:var(--red-ui-secondary-text-color,#777)">on the selected engine, with its runtime and limits; nothing is deployed</span>').insertAfter($button);
        var $out = $('<div class="ew-run-result"></div>').appendTo($row);
        $button.on('click', function () {
            var text = $sample.val();
            try { window.localStorage.setItem(sampleKey(node.id), text); } catch (e) { /* private mode: not remembered */ }
            var draft = collectDraft(node, editor);
            draft.payload = parseSample(text);
            var began = Date.now();
            $button.prop('disabled', true);
            $out.empty().append($('<div/>').text('running…'));
            $.ajax({ url: 'edgewhisk/run', method: 'POST', contentType: 'application/json', data: JSON.stringify(draft), dataType: 'json' })
                .done(function (body) { drawRunResult($out, body.activation, Date.now() - began); })
                .fail(function (xhr) {
                    var message = xhr.status === 401 ? 'You do not have permission to run code (edgewhisk.write).' : (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || 'The request failed.';
                    $out.empty().append($('<div class="ew-run-error" style="color:#d6615f"></div>').text(message));
                })
                .always(function () { $button.prop('disabled', false); });
        });
    }

    /**
     * The trigger dialog's schedule preview (called from its oneditprepare): the next 3 fire times of the cron being
     * typed, in its time zone (the Node-RED host's when the field is empty, which is named in `$hostZone`), or why
     * the alarm feed would refuse it. Computed by the runtime with the feed's own code: the browser's clock and zone
     * may differ from the host's, and a preview the deployed schedule did not keep would mislead.
     */
    function attachSchedulePreview($cron, $zone, $out, $hostZone) {
        var timer = null;
        var asked = 0;
        function draw(body, cron) {
            $hostZone.text(body.hostTimeZone);
            $zone.attr('placeholder', body.hostTimeZone);
            $out.empty();
            if (cron === '') {
                $('<div class="ew-schedule-none"></div>').text('No schedule: the trigger fires on input only.').appendTo($out);
            } else if (body.error) {
                $('<div class="ew-schedule-error"></div>').text(body.error).appendTo($out);
            } else if (body.next.length === 0) {
                $('<div class="ew-schedule-none"></div>').text('This schedule never fires.').appendTo($out);
            } else {
                $('<div></div>').text('Next fire times (' + body.timezone + '):').appendTo($out);
                var $list = $('<ol class="ew-schedule-next"></ol>').appendTo($out);
                body.next.forEach(function (n) { $('<li></li>').attr('title', n.at).text(n.text).appendTo($list); });
            }
        }
        function ask() {
            var cron = String($cron.val() || '').trim();
            var mine = ++asked;
            $.getJSON('edgewhisk/schedule', { cron: cron, timezone: String($zone.val() || '').trim() })
                .done(function (body) { if (mine === asked) { draw(body, cron); } })
                .fail(function (xhr) {
                    if (mine !== asked) { return; }
                    var message = xhr.status === 401 ? 'You do not have permission to read EdgeWhisk (edgewhisk.read).' : (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || 'The preview failed.';
                    $out.empty().append($('<div class="ew-schedule-error"></div>').text(message));
                });
        }
        function later() { clearTimeout(timer); timer = setTimeout(ask, 250); }
        $cron.on('input change', later);
        $zone.on('input change', later);
        ask();
    }

    /**
     * What the browser holds (for checking the bound): the largest number of activations kept for one engine, and
     * how many finished activations of action `name` are kept across engines.
     */
    function kept(name) {
        var total = 0, done = 0;
        Object.keys(engines).forEach(function (key) {
            total = Math.max(total, engines[key].entries.size);
            engines[key].entries.forEach(function (e) { if (e.name === name && e.state === 'done') { done++; } });
        });
        return { total: total, done: done };
    }

    window.EdgeWhiskEditor = { attachRun: attachRun, attachSchedulePreview: attachSchedulePreview, kept: kept };
    // Node-RED loads node editor files once its sidebar exists.
    createSidebar();
})();
