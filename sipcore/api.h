/**
 * @file api.h  What the HTTP API files share: the request, replies, routes
 *
 * api.c owns the server, the token, the route table and the replies;
 * api_ext.c the extension routes. Include after <re.h> and "sipcore.h".
 */
#ifndef API_H
#define API_H


enum {
	API_BODY_MAX = 65536,          /**< Largest request body, bytes   */
};

/** One authenticated request, as the router hands it to a route */
struct api_req {
	struct http_conn *conn;        /**< Connection to reply on        */
	const struct http_msg *msg;    /**< The request                   */
	struct pl arg;                 /**< Path after a prefix route     */
	const struct odict *body;      /**< POST/PUT JSON object, or NULL */
	struct store *st;              /**< Store                         */
	const struct sb_conf *cfg;     /**< Configuration                 */
};

/**
 * A route handler. It returns 0 when it has replied, or an errno code
 * that the router turns into an error reply (ENOENT 404, EEXIST 409,
 * EINVAL 400, otherwise 500).
 */
typedef int (api_route_h)(struct api_req *req);

int  api_reply(const struct api_req *req, uint16_t scode,
	       const char *hdrs, re_printf_h *ph, void *arg);
int  api_error(const struct api_req *req, uint16_t scode,
	       const char *field, const char *fmt, ...);
int  api_json_str(struct re_printf *pf, const char *str);


/* extension routes (api_ext.c) */

int  api_ext_list(struct api_req *req);
int  api_ext_show(struct api_req *req);
int  api_ext_add(struct api_req *req);
int  api_ext_set(struct api_req *req);
int  api_ext_del(struct api_req *req);

#endif
