package drift

import (
	"errors"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/internal/jsonx"
)

// dynamicJSON is the dynamic client's JSON decoder, which its List uses.
var dynamicJSON = sync.OnceValue(func() runtime.Decoder {
	for _, info := range dynamic.ConfigFor(&rest.Config{}).NegotiatedSerializer.SupportedMediaTypes() {
		if info.MediaType == runtime.ContentTypeJSON {
			return info.Serializer
		}
	}
	return unstructured.UnstructuredJSONScheme
})

// page returns a response's items and continue token. The body is decoded
// in one pass into the values the dynamic client would give
// (unstructured.UnstructuredList, which decodes each page three times); a
// body the decoder does not take is decoded by the dynamic client's own.
func (d *listDecoder) page(f fetched) ([]map[string]any, string, error) {
	if f.err != nil {
		return nil, "", f.err
	}
	if items, next, ok := d.decode(f.body()); ok {
		return items, next, nil
	}
	var list unstructured.UnstructuredList
	if _, _, err := dynamicJSON().Decode(f.body(), nil, &list); err != nil {
		return nil, "", err
	}
	items := make([]map[string]any, len(list.Items))
	for i := range list.Items {
		items[i] = list.Items[i].Object
	}
	return items, list.GetContinue(), nil
}

// peekContinue reads a list body's continue token from its metadata, which
// an API server writes before the items, or returns "" when there is none
// or the items come first.
func peekContinue(body []byte) string {
	d := jsonx.NewDecoder(body, true)
	cont := ""
	errDone := errors.New("done")
	err := d.SortedMembers(func(k string) error {
		switch k {
		case "items":
			return errDone
		case "metadata":
			v, err := d.Value()
			m, _ := v.(map[string]any)
			cont, _ = m["continue"].(string)
			if err == nil {
				err = errDone
			}
			return err
		}
		return d.SkipValue()
	})
	if !errors.Is(err, errDone) {
		return ""
	}
	return cont
}

// listDecoder decodes LIST responses as unstructured.UnstructuredList does,
// in one pass, sharing short strings across the items of a page.
//
// Its items go to Normalize and nowhere else, so it leaves out the parts
// Normalize drops without reading them (unread, beside Normalize), which
// are about half of what an API server sends.
type listDecoder struct {
	d *jsonx.Decoder
	// full turns the shortcuts off: items are decoded whole.
	full bool
}

// decode returns the items of a list body and its continue token; items
// without kind and apiVersion get the list's (built-in types' lists leave
// them out). It reports false for anything unusual, which the dynamic
// client's decoder then handles.
func (ld *listDecoder) decode(body []byte) (items []map[string]any, cont string, ok bool) {
	if ld.d == nil {
		ld.d = jsonx.NewDecoder(nil, true)
	}
	d := ld.d
	d.Reset(body)
	defer d.Reset(nil)
	var kind, apiVersion string
	err := d.SortedMembers(func(k string) error {
		switch k {
		case "kind", "apiVersion":
			v, err := d.Value()
			s, _ := v.(string)
			if k == "kind" {
				kind = s
			} else {
				apiVersion = s
			}
			return err
		case "metadata":
			v, err := d.Value()
			m, _ := v.(map[string]any)
			cont, _ = m["continue"].(string)
			return err
		case "items":
			if d.Next() == 'n' {
				items = nil
				return d.Literal("null")
			}
			items = []map[string]any{}
			if err := d.Expect('['); err != nil {
				return err
			}
			if d.Next() == ']' {
				d.Pos++
				return nil
			}
			group, _ := splitAPIVersion(apiVersion)
			skipStatus := kind != "" && !unread.statusKept(group, strings.TrimSuffix(kind, "List")) && !ld.full
			for more := true; more; {
				if d.Next() != '{' {
					return jsonx.ErrSlowPath
				}
				m, err := ld.item(skipStatus)
				if err != nil {
					return err
				}
				items = append(items, m)
				if more, err = d.More(']'); err != nil {
					return err
				}
			}
			return nil
		}
		_, err := d.Value()
		return err
	})
	if err != nil || kind == "" || !d.AtEnd() {
		return nil, "", false
	}
	itemKind := strings.TrimSuffix(kind, "List")
	for _, it := range items {
		k, _ := it["kind"].(string)
		av, _ := it["apiVersion"].(string)
		if k == "" && av == "" {
			it["kind"], it["apiVersion"] = itemKind, apiVersion
		}
	}
	return items, cont, true
}

// item decodes one list item, leaving out what unread says Normalize
// does not read.
func (ld *listDecoder) item(skipStatus bool) (map[string]any, error) {
	d := ld.d
	if ld.full {
		return d.Object()
	}
	return d.ObjectWith(func(k string) (any, bool, error) {
		switch k {
		case unread.status:
			if skipStatus {
				return nil, false, d.SkipValue()
			}
		case "metadata":
			if d.Next() != '{' {
				break
			}
			v, err := d.ObjectWith(ld.metadataMember)
			return v, true, err
		}
		v, err := d.Value()
		return v, true, err
	})
}

func (ld *listDecoder) metadataMember(k string) (any, bool, error) {
	d := ld.d
	switch {
	case k == unread.managedFields && d.Next() == '[':
		d.Pos++
		out := []any{}
		if d.Next() == ']' {
			d.Pos++
			return out, true, nil
		}
		for more := true; more; {
			var v any
			var err error
			if d.Next() == '{' {
				v, err = ld.managedFieldsEntry()
			} else {
				v, err = d.Value()
			}
			if err != nil {
				return nil, false, err
			}
			out = append(out, v)
			if more, err = d.More(']'); err != nil {
				return nil, false, err
			}
		}
		return out, true, nil
	case k == unread.annotations && d.Next() == '{':
		v, err := d.ObjectWith(func(k string) (any, bool, error) {
			if k == unread.lastApplied {
				return "", true, d.SkipValue() // present, its body unread
			}
			v, err := d.Value()
			return v, true, err
		})
		return v, true, err
	}
	v, err := d.Value()
	return v, true, err
}

// managedFieldsEntry decodes an entry of managedFields. Its fieldsV1 is
// read once, into its top-level keys (what provenance keeps of a
// manager), and decoded whole again only where unread.fieldsRead says
// (every manager whose paths a snapshot keeps, KeepsManagerPaths):
// the manager comes after fieldsV1 in the API server's output, so which it
// is is known only then.
func (ld *listDecoder) managedFieldsEntry() (any, error) {
	d := ld.d
	fieldsAt, fieldsEnd := -1, -1
	var fields any
	entry, err := d.ObjectWith(func(k string) (any, bool, error) {
		if k == unread.fieldsV1 {
			d.SkipSpace()
			fieldsAt = d.Pos
			var err error
			if d.Next() == '{' {
				fields, err = d.ObjectWith(func(string) (any, bool, error) { return nil, true, d.SkipValue() })
			} else {
				err = d.SkipValue()
			}
			fieldsEnd = d.Pos
			return nil, true, err
		}
		v, err := d.Value()
		return v, true, err
	})
	if err != nil || fieldsAt < 0 {
		return entry, err
	}
	manager, _ := entry["manager"].(string)
	if fields == nil || unread.fieldsRead(manager) {
		end := d.Pos
		d.Pos = fieldsAt
		fields, err = d.Value()
		if err == nil && d.Pos != fieldsEnd {
			err = jsonx.ErrSlowPath
		}
		d.Pos = end
	}
	entry[unread.fieldsV1] = fields
	return entry, err
}
