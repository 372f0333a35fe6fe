// Highlighting for ```model blocks: the .model language (`lang/grammar/model.pest`) for the
// highlight.js that mdBook bundles (10.x; the definition also works with 11.x).
//
// mdBook loads this file through `additional-js` in `book.toml`, after its own `highlight.js`
// and `book.js`. By then `book.js` has already gone over every code block and left the
// ```model ones as plain text, since it did not know the language; so this file registers the
// language and then highlights those blocks again.
(function () {
    'use strict';

    if (typeof window.hljs === 'undefined') {
        return;
    }
    var hljs = window.hljs;

    var IDENT = '[A-Za-z_][A-Za-z0-9_]*';
    var NOT_KEYWORD = '\\b(?!(?:model|block|use|repeat|residual|if|else|true|false)\\b)';

    function modelLanguage(hljs) {
        var KEYWORDS = {
            keyword: 'model block use repeat residual if else',
            literal: 'true false',
            // The reserved symbols: tokens per window and vocabulary size.
            built_in: 'context vocab',
        };
        var COMMENT = hljs.COMMENT('//', '$');
        var NUMBER = {
            className: 'number',
            begin: '\\b[0-9]+(?:\\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+|(?:_[0-9]+)*)',
            relevance: 0,
        };
        // Strings only follow `use`.
        var STRING = { className: 'string', begin: '"', end: '["\\n]' };
        var OPERATOR = { className: 'operator', begin: '[-+*/]', relevance: 0 };
        var GROUP = { begin: '\\(', end: '\\)', keywords: KEYWORDS, relevance: 0 };
        GROUP.contains = [COMMENT, NUMBER, OPERATOR, GROUP];
        // `= expression` after a parameter or argument name, up to the next `,` or `)`.
        var VALUE = {
            begin: '=',
            end: '(?=[,)])',
            keywords: KEYWORDS,
            relevance: 0,
            contains: [COMMENT, NUMBER, OPERATOR, GROUP],
        };
        // What is left of a parameter list or an argument list once the values are taken: names.
        var NAME = { className: 'attr', begin: IDENT, relevance: 0 };
        var PARAMETERS = { begin: '\\(', end: '\\)', contains: [COMMENT, VALUE, NAME] };
        var DEFINITION = {
            beginKeywords: 'model block',
            end: '\\{',
            returnEnd: true,
            contains: [COMMENT, PARAMETERS, { className: 'title', begin: IDENT, relevance: 0 }],
        };
        var CALL = {
            className: 'title function_',
            begin: NOT_KEYWORD + IDENT + '(?=\\s*\\()',
            relevance: 0,
            // The argument list, `(` included, as the call's continuation.
            starts: { end: '\\)', contains: [COMMENT, VALUE, NAME] },
        };
        var LABEL = { className: 'symbol', begin: NOT_KEYWORD + IDENT + '(?=\\s*:)', relevance: 0 };

        return {
            name: 'tinyarch model',
            aliases: ['tinyarch-model'],
            keywords: KEYWORDS,
            contains: [COMMENT, STRING, DEFINITION, LABEL, CALL, NUMBER, OPERATOR, GROUP],
        };
    }

    hljs.registerLanguage('model', modelLanguage);

    function highlightText(text) {
        var major = parseInt(String(hljs.versionString || '10').split('.')[0], 10);
        if (major >= 11) {
            return hljs.highlight(text, { language: 'model', ignoreIllegals: true }).value;
        }
        return hljs.highlight('model', text, true).value;
    }

    function highlightModelBlocks() {
        var blocks = document.querySelectorAll('code.language-model, code.language-tinyarch-model');
        Array.prototype.forEach.call(blocks, function (block) {
            if (block.getAttribute('data-model-highlighted') === 'yes') {
                return;
            }
            try {
                block.innerHTML = highlightText(block.textContent);
            } catch (e) {
                return; // leave the block as plain text
            }
            block.classList.add('hljs');
            block.setAttribute('data-model-highlighted', 'yes');
        });
    }

    // Scripts in `additional-js` sit at the end of the page: waiting for DOMContentLoaded puts
    // this after `book.js` too, wherever mdBook places it.
    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', highlightModelBlocks);
    } else {
        highlightModelBlocks();
    }
})();
